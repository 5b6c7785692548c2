//! A stand-in for rspamd's `/checkv2`, for tests that must choose its
//! verdict or read what tern sent: a thread on 127.0.0.1 (port 0) that
//! answers every POST with the action the test set, records each request's
//! header fields, and closes the connection (`Connection: close`). Every
//! loop is bounded; the thread stops on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a fake rspamd serves: past it, the thread ends by itself.
const LIFETIME: Duration = Duration::from_secs(600);
/// The most header lines read from one request.
const MAX_LINES: usize = 200;
/// The largest body read from one request.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One request: its request line and its header fields, in order.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub line: String,
    pub fields: Vec<(String, String)>,
}

impl Request {
    /// Every value of the field `name` (compared without case), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of `name`, if the request had one.
    pub fn one(&self, name: &str) -> Option<&str> {
        match self.all(name).as_slice() {
            [v] => Some(v),
            _ => None,
        }
    }
}

/// The verdict the fake gives: rspamd's `action`, `score` and
/// `required_score`.
#[derive(Debug, Clone)]
pub struct Answer {
    pub action: String,
    pub score: f64,
    pub required: f64,
    /// Sent as the body instead of a verdict (hostile answers).
    pub raw: Option<Arc<Vec<u8>>>,
}

pub struct FakeRspamd {
    pub port: u16,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeRspamd {
    /// Listening, and answering `no action` until told otherwise.
    pub fn start() -> FakeRspamd {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let answer = Arc::new(Mutex::new(Answer {
            action: "no action".into(),
            score: 0.0,
            required: 15.0,
            raw: None,
        }));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (answer, requests, stop) = (answer.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                let end = Instant::now() + LIFETIME;
                while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                    match listener.accept() {
                        Ok((s, _)) => {
                            let a = answer.lock().unwrap_or_else(|e| e.into_inner()).clone();
                            if let Some(r) = serve(s, &a) {
                                requests.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        FakeRspamd {
            port,
            answer,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answer every later request with this verdict.
    pub fn answer(&self, action: &str, score: f64, required: f64) {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = Answer {
            action: action.into(),
            score,
            required,
            raw: None,
        };
    }

    /// Answer every later request with these bytes as the JSON body.
    pub fn answer_raw(&self, body: Vec<u8>) {
        self.answer.lock().unwrap_or_else(|e| e.into_inner()).raw = Some(Arc::new(body));
    }

    /// The requests answered so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for FakeRspamd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read one request (line, fields, `Content-Length` body) and answer it.
fn serve(s: TcpStream, a: &Answer) -> Option<Request> {
    s.set_nonblocking(false).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut r = BufReader::new(s);
    let mut req = Request::default();
    r.read_line(&mut req.line).ok()?;
    req.line = req.line.trim_end().to_string();
    for _ in 0..MAX_LINES {
        let mut l = String::new();
        if r.read_line(&mut l).ok()? == 0 {
            return None;
        }
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':')?;
        req.fields
            .push((n.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = req
        .one("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len.min(MAX_BODY)];
    r.read_exact(&mut body).ok()?;
    let json = match &a.raw {
        Some(raw) => raw.as_ref().clone(),
        None => format!(
            "{{\"action\":\"{}\",\"score\":{},\"required_score\":{},\"symbols\":{{\"FAKE\":{{\"score\":{}}}}}}}",
            a.action, a.score, a.required, a.score
        )
        .into_bytes(),
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        json.len()
    );
    let mut s = r.into_inner();
    s.write_all(head.as_bytes()).ok()?;
    // A client that stops reading an over-long answer ends the write.
    let _ = s.write_all(&json);
    s.flush().ok()?;
    Some(req)
}
