//! Headless Chromium for the browser tests and the load-time benchmark, driven through the
//! `headless_chrome` crate: launch, open a page, evaluate script, move and click the mouse, take
//! screenshots, and collect every script error the page reports.
//!
//! `headless_chrome` speaks the DevTools protocol (JSON over a websocket) and types every command; this
//! module only adds what the tests share: finding the system's Chromium, waiting for the page's own
//! `window.quill.ready`, values returned as JSON, and the page's errors gathered from the protocol's
//! events (uncaught exceptions, `console.error`/`console.assert`, error log entries).
//!
//! Chromium is found, never downloaded (the crate is built without its `fetch` feature):
//! `QUILL_CHROMIUM` if set, otherwise `chromium` (Debian's package, `/usr/bin/chromium`) or a Chrome on
//! the `PATH`. Without one the tests fail and say how to install it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Emulation, Input, Log, Page as CdpPage, Runtime};
use headless_chrome::{LaunchOptions, Tab};
use serde_json::{json, Value};

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

/// How long the connection to the browser may stay silent (a 100,000-operation page parses and lays
/// out for a while without sending an event). A guard against a hung browser, not a measurement.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

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

/// A headless Chromium process with a fresh profile; `headless_chrome` kills it when dropped.
pub struct Browser {
    browser: headless_chrome::Browser,
}

impl Browser {
    /// Starts a fresh headless Chromium with a 1400x900 window. `log` receives the binary, its
    /// version and its process id.
    pub fn launch(log: &Path) -> Result<Browser> {
        let binary = find_chromium(
            std::env::var_os("QUILL_CHROMIUM").map(PathBuf::from),
            CANDIDATES,
            std::env::var_os("PATH").as_deref(),
        )?;
        let options = LaunchOptions::default_builder()
            .path(Some(binary.clone()))
            .headless(true)
            .sandbox(false)
            .window_size(Some((1400, 900)))
            .idle_browser_timeout(IDLE_TIMEOUT)
            .args(vec![
                OsStr::new("--disable-quic"),
                OsStr::new("--hide-scrollbars"),
                OsStr::new("--mute-audio"),
            ])
            .build()
            .map_err(|e| anyhow!("Chromium launch options: {e}"))?;
        let browser = headless_chrome::Browser::new(options)
            .with_context(|| format!("starting {}", binary.display()))?;
        let version = browser
            .get_version()
            .map(|v| v.product)
            .unwrap_or_else(|e| format!("(version unknown: {e})"));
        std::fs::write(
            log,
            format!(
                "binary: {}\nversion: {version}\nprocess: {}\n",
                binary.display(),
                browser
                    .get_process_id()
                    .map_or(String::new(), |pid| format!("pid {pid}"))
            ),
        )
        .with_context(|| format!("writing {}", log.display()))?;
        Ok(Browser { browser })
    }

    /// Opens a new tab, with the runtime and log domains on so that errors are reported.
    pub fn new_page(&self) -> Result<Page> {
        let tab = self.browser.new_tab().context("opening a tab")?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        tab.add_event_listener(Arc::new(move |event: &Event| {
            if let Some(error) = error_of(event) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(error);
            }
        }))
        .context("listening to the tab's events")?;
        tab.enable_runtime().context("Runtime.enable")?;
        tab.enable_log().context("Log.enable")?;
        tab.call_method(CdpPage::Enable {
            enable_file_chooser_opened_event: None,
        })
        .context("Page.enable")?;
        // The viewport the tests' coordinates assume, whatever the window manager made of the window.
        tab.call_method(Emulation::SetDeviceMetricsOverride {
            width: 1400,
            height: 900,
            device_scale_factor: 1.0,
            mobile: false,
            scale: None,
            screen_width: None,
            screen_height: None,
            position_x: None,
            position_y: None,
            dont_set_visible_size: None,
            screen_orientation: None,
            viewport: None,
            display_feature: None,
            device_posture: None,
        })
        .context("Emulation.setDeviceMetricsOverride")?;
        Ok(Page { tab, errors })
    }
}

/// The error an event reports, if it reports one.
fn error_of(event: &Event) -> Option<String> {
    match event {
        Event::RuntimeExceptionThrown(e) => {
            let d = &e.params.exception_details;
            let text = d
                .exception
                .as_ref()
                .and_then(|x| x.description.clone())
                .unwrap_or_else(|| d.text.clone());
            Some(format!(
                "uncaught: {text} (line {}, column {})",
                d.line_number, d.column_number
            ))
        }
        Event::RuntimeConsoleAPICalled(e) => {
            let kind = match e.params.Type {
                Runtime::ConsoleAPICalledEventTypeOption::Error => "error",
                Runtime::ConsoleAPICalledEventTypeOption::Assert => "assert",
                _ => return None,
            };
            let args: Vec<String> = e
                .params
                .args
                .iter()
                .map(|a| {
                    a.value
                        .as_ref()
                        .map(|v| v.to_string())
                        .or_else(|| a.description.clone())
                        .unwrap_or_default()
                })
                .collect();
            Some(format!("console.{kind}: {}", args.join(" ")))
        }
        Event::LogEntryAdded(e) if matches!(e.params.entry.level, Log::LogEntryLevel::Error) => {
            Some(format!("log: {}", e.params.entry.text))
        }
        _ => None,
    }
}

/// One tab.
pub struct Page {
    tab: Arc<Tab>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Page {
    /// Every script error, console error and error log entry seen so far.
    pub fn errors(&mut self) -> Vec<String> {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Navigates to `url` and waits until `window.quill.ready`; returns the wall time that took.
    /// `timeout` only guards against a page that never gets ready.
    pub fn open(&mut self, url: &str, timeout: Duration) -> Result<Duration> {
        let started = Instant::now();
        self.tab
            .call_method(CdpPage::Navigate {
                url: url.to_string(),
                referrer: None,
                transition_Type: None,
                frame_id: None,
                referrer_policy: None,
            })
            .with_context(|| format!("navigating to {url}"))?;
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

    /// Evaluates `expression` in the page, awaiting a promise, and returns its value as JSON.
    pub fn eval(&mut self, expression: &str) -> Result<Value> {
        let result = self
            .tab
            .call_method(Runtime::Evaluate {
                expression: expression.to_string(),
                object_group: None,
                include_command_line_api: None,
                silent: None,
                context_id: None,
                return_by_value: Some(true),
                generate_preview: None,
                user_gesture: None,
                await_promise: Some(true),
                throw_on_side_effect: None,
                timeout: None,
                disable_breaks: None,
                repl_mode: None,
                allow_unsafe_eval_blocked_by_csp: None,
                unique_context_id: None,
                serialization_options: None,
            })
            .with_context(|| format!("evaluating {expression:?}"))?;
        if let Some(details) = result.exception_details {
            let text = details
                .exception
                .and_then(|x| x.description)
                .unwrap_or(details.text);
            bail!("evaluating {expression:?} threw: {text}");
        }
        Ok(result.result.value.unwrap_or(Value::Null))
    }

    /// Sends one mouse event at `(x, y)`.
    fn mouse(
        &mut self,
        kind: Input::DispatchMouseEventTypeOption,
        (x, y): (f64, f64),
        button: Option<Input::MouseButton>,
        buttons: Option<u32>,
        delta_y: Option<f64>,
    ) -> Result<()> {
        let pressing = matches!(
            kind,
            Input::DispatchMouseEventTypeOption::MousePressed
                | Input::DispatchMouseEventTypeOption::MouseReleased
        );
        self.tab
            .call_method(Input::DispatchMouseEvent {
                Type: kind,
                x,
                y,
                modifiers: None,
                timestamp: None,
                button,
                buttons,
                click_count: pressing.then_some(1),
                force: None,
                tangential_pressure: None,
                tilt_x: None,
                tilt_y: None,
                twist: None,
                delta_x: delta_y.map(|_| 0.0),
                delta_y,
                pointer_Type: None,
            })
            .context("Input.dispatchMouseEvent")?;
        Ok(())
    }

    /// Moves the mouse to `(x, y)` with `buttons` held (1: the left one).
    pub fn mouse_move(&mut self, x: f64, y: f64, buttons: u32) -> Result<()> {
        let button = if buttons == 1 {
            Input::MouseButton::Left
        } else {
            Input::MouseButton::None
        };
        self.mouse(
            Input::DispatchMouseEventTypeOption::MouseMoved,
            (x, y),
            Some(button),
            Some(buttons),
            None,
        )
    }

    /// Drags with the left button from `from` to `to`, in a few steps.
    pub fn drag(&mut self, from: (f64, f64), to: (f64, f64)) -> Result<()> {
        use Input::DispatchMouseEventTypeOption::{MousePressed, MouseReleased};
        self.mouse_move(from.0, from.1, 0)?;
        self.mouse(
            MousePressed,
            from,
            Some(Input::MouseButton::Left),
            Some(1),
            None,
        )?;
        for step in 1..=5 {
            let t = step as f64 / 5.0;
            self.mouse_move(
                from.0 + (to.0 - from.0) * t,
                from.1 + (to.1 - from.1) * t,
                1,
            )?;
        }
        self.mouse(
            MouseReleased,
            to,
            Some(Input::MouseButton::Left),
            Some(1),
            None,
        )
    }

    /// Turns the mouse wheel at `(x, y)`; a negative `delta_y` is away from the user.
    pub fn wheel(&mut self, x: f64, y: f64, delta_y: f64) -> Result<()> {
        self.mouse(
            Input::DispatchMouseEventTypeOption::MouseWheel,
            (x, y),
            None,
            None,
            Some(delta_y),
        )
    }

    /// A real left click at `(x, y)` in CSS pixels, as a person would make it.
    pub fn click(&mut self, x: f64, y: f64) -> Result<()> {
        use Input::DispatchMouseEventTypeOption::{MouseMoved, MousePressed, MouseReleased};
        self.mouse(MouseMoved, (x, y), None, None, None)?;
        for kind in [MousePressed, MouseReleased] {
            self.mouse(kind, (x, y), Some(Input::MouseButton::Left), Some(1), None)?;
        }
        Ok(())
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&mut self, path: &Path) -> Result<()> {
        let png = self
            .tab
            .capture_screenshot(
                CdpPage::CaptureScreenshotFormatOption::Png,
                None,
                None,
                true,
            )
            .context("Page.captureScreenshot")?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }
}
