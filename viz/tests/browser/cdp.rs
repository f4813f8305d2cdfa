//! A small driver for headless Chromium over the DevTools protocol: launch, open a page, evaluate
//! script, click, take screenshots, and collect every script error the page reports.
//!
//! The protocol is JSON over a websocket: a command `{"id", "method", "params"}` is answered by a message
//! with the same id, and events (console messages, exceptions) arrive in between. Each `Page` talks to
//! one tab over its own socket, so no session multiplexing is needed.
//!
//! Chromium is found, never downloaded: `QUILL_CHROMIUM` if set, otherwise `chromium` (Debian's
//! package, `/usr/bin/chromium`) or a Chrome on the `PATH`. Without one the tests fail and say how to
//! install it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// The script that installs Chromium, named in the failure when there is none.
pub const INSTALL_SCRIPT: &str = "scripts/install-chromium.sh";

/// Tried in order after `QUILL_CHROMIUM`: names on the `PATH`, then Debian's path in case `PATH` is
/// minimal.
const CANDIDATES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "/usr/bin/chromium",
];

/// How long one protocol command may take before the test gives up on the browser.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Finds a Chromium binary: `explicit` (from `QUILL_CHROMIUM`), else the first of `names` found on
/// `path` (an absolute name is taken as it is).
pub fn find_chromium(
    explicit: Option<PathBuf>,
    names: &[&str],
    path: Option<&std::ffi::OsStr>,
) -> Result<PathBuf> {
    if let Some(explicit) = explicit {
        if explicit.is_file() {
            return Ok(explicit);
        }
        bail!("QUILL_CHROMIUM is set to {}, which is not a file; run {INSTALL_SCRIPT} or fix the variable", explicit.display());
    }
    let dirs: Vec<PathBuf> = path
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    for name in names {
        if Path::new(name).is_absolute() && Path::new(name).is_file() {
            return Ok(PathBuf::from(name));
        }
        for dir in &dirs {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "Chromium is not installed, and the browser tests need it (they never download one). \
         Install it with `bash {INSTALL_SCRIPT}` (Debian's `chromium` package), or point QUILL_CHROMIUM at a \
         Chromium or Chrome binary."
    )
}

/// A headless Chromium process, killed when dropped.
pub struct Browser {
    child: Child,
    port: u16,
    /// The fresh profile directory; removed after the process is killed (fields drop after `drop`).
    profile: TempDir,
}

impl Browser {
    /// Starts a fresh headless Chromium with its own profile; its log goes to `log`.
    pub fn launch(log: &Path) -> Result<Browser> {
        let binary = find_chromium(
            std::env::var_os("QUILL_CHROMIUM").map(PathBuf::from),
            CANDIDATES,
            std::env::var_os("PATH").as_deref(),
        )?;
        let profile = TempDir::new("quill-chromium")?;
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--mute-audio",
                "--window-size=1400,900",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut browser = Browser {
            child,
            port: 0,
            profile,
        };
        browser.port = browser.wait_for_port(log)?;
        Ok(browser)
    }

    /// Chromium writes the port it chose (with `--remote-debugging-port=0`) to `DevToolsActivePort`.
    fn wait_for_port(&mut self, log: &Path) -> Result<u16> {
        let file = self.profile.path.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("Chromium exited at start ({status}); see {}", log.display());
            }
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Some(port) = text
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<u16>().ok())
                {
                    return Ok(port);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "Chromium did not open its DevTools port within 30 s; see {}",
            log.display()
        )
    }

    /// Opens a new tab, sized 1400x900.
    pub fn new_page(&self) -> Result<Page> {
        let text = std::fs::read_to_string(self.profile.path.join("DevToolsActivePort"))?;
        let browser_path = text
            .lines()
            .nth(1)
            .context("DevToolsActivePort names no browser endpoint")?;
        let mut browser = Connection::open(self.port, browser_path)?;
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }))?;
        let id = target["targetId"]
            .as_str()
            .context("createTarget gave no targetId")?;
        let mut page = Page {
            conn: Connection::open(self.port, &format!("/devtools/page/{id}"))?,
            errors: Vec::new(),
        };
        page.call("Runtime.enable", json!({}))?;
        page.call("Log.enable", json!({}))?;
        page.call("Page.enable", json!({}))?;
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )?;
        Ok(page)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // This is our own child process, ended by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One websocket to a DevTools endpoint.
struct Connection {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    /// Events received while waiting for answers, oldest first.
    events: Vec<Value>,
}

impl Connection {
    fn open(port: u16, path: &str) -> Result<Connection> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .context("connecting to Chromium's DevTools port")?;
        stream.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (socket, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|e| anyhow!("websocket handshake with {url}: {e}"))?;
        Ok(Connection {
            socket,
            next_id: 1,
            events: Vec::new(),
        })
    }

    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket
            .send(Message::Text(message))
            .with_context(|| format!("sending {method}"))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            if Instant::now() > deadline {
                bail!("{method} got no answer within {COMMAND_TIMEOUT:?}");
            }
            let text = match self
                .socket
                .read()
                .with_context(|| format!("waiting for the answer to {method}"))?
            {
                Message::Text(text) => text,
                Message::Close(_) => bail!("Chromium closed the connection during {method}"),
                _ => continue,
            };
            let value: Value = serde_json::from_str(&text)?;
            if value["id"].as_u64() == Some(id) {
                if let Some(error) = value.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(value["result"].clone());
            }
            if value.get("method").is_some() {
                self.events.push(value);
            }
        }
    }
}

/// One tab.
pub struct Page {
    conn: Connection,
    errors: Vec<String>,
}

impl Page {
    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let result = self.conn.call(method, params);
        self.collect_errors();
        result
    }

    /// Moves script errors out of the event queue into `errors`.
    fn collect_errors(&mut self) {
        for event in self.conn.events.drain(..) {
            let params = &event["params"];
            match event["method"].as_str() {
                Some("Runtime.exceptionThrown") => {
                    let d = &params["exceptionDetails"];
                    let text = d["exception"]["description"]
                        .as_str()
                        .or(d["text"].as_str())
                        .unwrap_or("exception");
                    self.errors.push(format!(
                        "uncaught: {text} (line {}, column {})",
                        d["lineNumber"], d["columnNumber"]
                    ));
                }
                Some("Runtime.consoleAPICalled")
                    if matches!(params["type"].as_str(), Some("error" | "assert")) =>
                {
                    let args: Vec<String> = params["args"]
                        .as_array()
                        .map(|a| a.iter().map(|v| v["value"].to_string()).collect())
                        .unwrap_or_default();
                    self.errors.push(format!(
                        "console.{}: {}",
                        params["type"].as_str().unwrap_or("error"),
                        args.join(" ")
                    ));
                }
                Some("Log.entryAdded") if params["entry"]["level"].as_str() == Some("error") => {
                    self.errors
                        .push(format!("log: {}", params["entry"]["text"]));
                }
                _ => {}
            }
        }
    }

    /// Every script error, console error and error log entry seen so far.
    pub fn errors(&mut self) -> Vec<String> {
        self.collect_errors();
        self.errors.clone()
    }

    /// Navigates to `url` and waits until `window.quill.ready`; returns the wall time that took.
    pub fn open(&mut self, url: &str, timeout: Duration) -> Result<Duration> {
        let started = Instant::now();
        self.call("Page.navigate", json!({ "url": url }))?;
        loop {
            if self.eval("!!(window.quill && window.quill.ready)")? == json!(true) {
                return Ok(started.elapsed());
            }
            let errors = self.errors();
            if !errors.is_empty() {
                bail!("the page failed before it was ready: {errors:?}");
            }
            if started.elapsed() > timeout {
                bail!("the page was not ready within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Evaluates `expression` in the page and returns its value (as JSON).
    pub fn eval(&mut self, expression: &str) -> Result<Value> {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(details) = result.get("exceptionDetails") {
            bail!(
                "evaluating {expression:?} threw: {}",
                details["exception"]["description"]
            );
        }
        Ok(result["result"]["value"].clone())
    }

    /// Moves the mouse to `(x, y)` with `buttons` held (1: the left one).
    pub fn mouse_move(&mut self, x: f64, y: f64, buttons: u32) -> Result<()> {
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseMoved", "x": x, "y": y, "buttons": buttons, "button": if buttons == 1 { "left" } else { "none" } }),
        )?;
        Ok(())
    }

    /// Drags with the left button from `from` to `to`, in a few steps.
    pub fn drag(&mut self, from: (f64, f64), to: (f64, f64)) -> Result<()> {
        self.mouse_move(from.0, from.1, 0)?;
        let press = |kind: &str, (x, y): (f64, f64)| json!({ "type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1 });
        self.call("Input.dispatchMouseEvent", press("mousePressed", from))?;
        for step in 1..=5 {
            let t = step as f64 / 5.0;
            self.mouse_move(
                from.0 + (to.0 - from.0) * t,
                from.1 + (to.1 - from.1) * t,
                1,
            )?;
        }
        self.call("Input.dispatchMouseEvent", press("mouseReleased", to))?;
        Ok(())
    }

    /// Turns the mouse wheel at `(x, y)`; a negative `delta_y` is away from the user.
    pub fn wheel(&mut self, x: f64, y: f64, delta_y: f64) -> Result<()> {
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": delta_y }),
        )?;
        Ok(())
    }

    /// A real left click at `(x, y)` in CSS pixels, as a person would make it.
    pub fn click(&mut self, x: f64, y: f64) -> Result<()> {
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseMoved", "x": x, "y": y }),
        )?;
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1 }),
            )?;
        }
        Ok(())
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&mut self, path: &Path) -> Result<()> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let data = shot["data"]
            .as_str()
            .context("captureScreenshot gave no data")?;
        let png = base64::engine::general_purpose::STANDARD.decode(data)?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }
}

/// A directory removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
