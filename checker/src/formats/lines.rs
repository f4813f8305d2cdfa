//! The lines of a line-oriented log, read as a stream with bounded memory: each line is at most
//! [`MAX_LINE`] bytes and must be UTF-8, or the read stops there with an error that names the line (and,
//! for bad bytes, their byte offset).

use std::io::BufRead;

use crate::error::{FormatError, Location};

/// The longest line a log may have, in bytes.
pub const MAX_LINE: usize = 1 << 20;

/// Calls `each` with every line's 1-based number and text (without its line ending), in order.
pub(crate) fn for_each_line(
    mut reader: impl BufRead,
    mut each: impl FnMut(usize, &str) -> Result<(), FormatError>,
) -> Result<(), FormatError> {
    let mut buf = Vec::new();
    let mut offset: u64 = 0;
    let mut number = 0;
    loop {
        number += 1;
        buf.clear();
        let got =
            std::io::Read::take(&mut reader, MAX_LINE as u64 + 1).read_until(b'\n', &mut buf)?;
        if got == 0 {
            return Ok(());
        }
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            return Err(FormatError::invalid(
                Location::Line(number),
                format!("the line is longer than {MAX_LINE} bytes: this is not a log"),
            ));
        }
        let line = match std::str::from_utf8(&buf) {
            Ok(line) => line,
            Err(e) => {
                let at = e.valid_up_to();
                return Err(FormatError::syntax(
                    Location::Line(number),
                    format!(
                        "byte 0x{:02x} at byte offset {} is not UTF-8: this is not a text log",
                        buf[at],
                        offset + at as u64
                    ),
                ));
            }
        };
        offset += got as u64;
        each(number, line.trim_end_matches(['\n', '\r']))?;
    }
}
