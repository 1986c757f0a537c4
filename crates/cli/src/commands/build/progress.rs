//! The build log on a terminal, compacted: one line per step (`[3/9] RUN make`), updated
//! in place with `CACHED` or `DONE 1.2s`; while a step runs, the last lines of its output
//! below it, erased when it ends; a failed step's whole output kept on screen. Without a
//! terminal (or with `--progress plain`) the classic log is printed as it comes.

use std::io::Write;
use std::time::Instant;

/// Output lines shown under a running step.
const TAIL: usize = 6;

pub struct Compact {
    step: Option<Step>,
    /// Text after the last newline, until its line is complete.
    partial: String,
}

struct Step {
    title: String,
    started: Instant,
    cached: bool,
    output: Vec<String>,
    /// Lines of output drawn under the title.
    shown: usize,
}

fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}

impl Compact {
    pub fn new() -> Compact {
        Compact { step: None, partial: String::new() }
    }

    /// Takes a piece of the `stream` text.
    pub fn feed(&mut self, text: &str) {
        self.partial.push_str(text);
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            self.line(line.trim_end_matches('\n'));
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("Step ") {
            self.finish(None);
            let (n, title) = rest.split_once(" : ").unwrap_or((rest, ""));
            let title = format!("[{n}] {title}");
            out(&format!("\x1b[2K => {title}\n"));
            self.step = Some(Step { title, started: Instant::now(), cached: false, output: Vec::new(), shown: 0 });
            return;
        }
        match self.step.as_mut() {
            Some(s) if line == " ---> Using cache" => s.cached = true,
            Some(_) if line.starts_with(" ---> ") || line.starts_with("Removing intermediate container ") => {}
            Some(_) if line.starts_with("Successfully ") => {
                self.finish(None);
                out(&format!("{line}\n"));
            }
            Some(s) => {
                s.output.push(line.to_owned());
                // Redraw the tail: up over what was shown, then the last TAIL lines.
                let mut draw = String::new();
                if s.shown > 0 {
                    draw.push_str(&format!("\x1b[{}A", s.shown));
                }
                let from = s.output.len().saturating_sub(TAIL);
                for l in &s.output[from..] {
                    draw.push_str(&format!("\x1b[2K\x1b[2m    {}\x1b[0m\n", truncate(l, 120)));
                }
                s.shown = s.output.len() - from;
                out(&draw);
            }
            None => out(&format!("{line}\n")),
        }
    }

    /// Ends the current step's display: its tail erased and its title marked; with
    /// `failed`, its whole output printed instead.
    pub fn finish(&mut self, failed: Option<&str>) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.line(&rest);
        }
        let Some(s) = self.step.take() else { return };
        let mut draw = String::new();
        // Up over the tail and the title, clear all of it, write the title again.
        draw.push_str(&format!("\x1b[{}A\x1b[J", s.shown + 1));
        let mark = match (failed, s.cached) {
            (Some(_), _) => "ERROR".to_owned(),
            (None, true) => "CACHED".to_owned(),
            (None, false) => format!("DONE {:.1}s", s.started.elapsed().as_secs_f64()),
        };
        draw.push_str(&format!(" => {} {mark}\n", s.title));
        if failed.is_some() {
            for l in &s.output {
                draw.push_str(&format!("    {l}\n"));
            }
        }
        out(&draw);
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
