//! Local stand-ins for the services Tessera talks to, on 127.0.0.1, speaking their real protocols: an HTTP
//! server shaped like Twilio's Messages API, an SMTP receiver, a captcha `siteverify` endpoint, a form-post
//! redirect URI, and an endpoint taking POSTs (webhooks, back-channel logout). Each records what it received.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One message Twilio's API was asked to send.
#[derive(Clone, Debug)]
pub struct Sms {
    pub account: String,
    pub authorization: String,
    pub to: String,
    pub from: Option<String>,
    pub messaging_service: Option<String>,
    pub body: String,
}

/// An HTTP server shaped like `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.
#[derive(Clone)]
pub struct Twilio {
    pub base_url: String,
    sent: Arc<Mutex<Vec<Sms>>>,
    /// When set, every request is answered with this Twilio error (status, code, message).
    failure: Arc<Mutex<Option<(u16, i64, String)>>>,
}

impl Twilio {
    pub fn start() -> Self {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let failure = Arc::new(Mutex::new(None));
        let state = (sent.clone(), failure.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new().app_data(web::Data::new(state.clone())).route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                web::post().to(twilio_messages),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            base_url,
            sent,
            failure,
        }
    }

    pub fn sent(&self) -> Vec<Sms> {
        self.sent.lock().unwrap().clone()
    }

    /// The six-digit code in the last message to `to`.
    pub fn last_code_to(&self, to: &str) -> String {
        let sent = self.sent();
        let message = sent
            .iter()
            .rev()
            .find(|m| m.to == to)
            .expect("a message to that number");
        first_code(&message.body).expect("a code in the message")
    }

    /// Answers every request with a Twilio error from now on.
    pub fn fail_with(&self, status: u16, code: i64, message: &str) {
        *self.failure.lock().unwrap() = Some((status, code, message.to_owned()));
    }
}

type TwilioState = (Arc<Mutex<Vec<Sms>>>, Arc<Mutex<Option<(u16, i64, String)>>>);

async fn twilio_messages(
    req: HttpRequest,
    state: web::Data<TwilioState>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some((status, code, message)) = state.1.lock().unwrap().clone() {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }));
    }
    let sms = Sms {
        account: path.into_inner(),
        authorization: req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        to: field("To").unwrap_or_default(),
        from: field("From"),
        messaging_service: field("MessagingServiceSid"),
        body: field("Body").unwrap_or_default(),
    };
    state.0.lock().unwrap().push(sms.clone());
    HttpResponse::Created().json(json!({
        "sid": "SM00000000000000000000000000000000",
        "account_sid": sms.account,
        "to": sms.to,
        "body": sms.body,
        "status": "queued",
    }))
}

/// One message an SMTP client delivered.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The whole message as sent after `DATA`: headers and MIME body.
    pub data: String,
}

/// A minimal SMTP receiver (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), no TLS.
#[derive(Clone)]
pub struct SmtpReceiver {
    pub port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpReceiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, store.clone()));
            }
        });
        Self { port, received }
    }

    pub fn received(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    /// The last message delivered to `to`, waiting for it briefly (delivery may be in flight).
    pub async fn last_to(&self, to: &str) -> Mail {
        for _ in 0..250 {
            if let Some(mail) = self.received().into_iter().rev().find(|m| m.to.iter().any(|r| r == to)) {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no mail reached {to}");
    }

    /// The six-digit code in the last message to `to` that carries one (its subject names it).
    pub async fn last_code_to(&self, to: &str) -> String {
        let code_in = |mail: &Mail| {
            let subject = mail.data.lines().find_map(|l| l.strip_prefix("Subject: "))?;
            first_code(subject)
        };
        for _ in 0..250 {
            let received = self.received();
            let last = received.iter().rev().filter(|m| m.to.iter().any(|r| r == to));
            if let Some(code) = last.filter_map(code_in).next() {
                return code;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no code reached {to}");
    }
}

async fn smtp_session(stream: tokio::net::TcpStream, store: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 standin.test ESMTP\r\n").await;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            "250-standin.test\r\n250-8BITMIME\r\n250 SMTPUTF8".into()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK".into()
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            "250 OK".into()
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line[10..]);
            "250 OK".into()
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line[8..]));
            "250 OK".into()
        } else if upper.starts_with("DATA") {
            let _ = write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            store.lock().unwrap().push(Mail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            "250 OK: queued".into()
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            "502 Command not implemented".into()
        };
        if write.write_all(format!("{answer}\r\n").as_bytes()).await.is_err() {
            return;
        }
    }
}

fn address(text: &str) -> String {
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// The first run of exactly six digits in `text`.
pub fn first_code(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_owned)
}

/// A captcha `siteverify` endpoint answering what the test sets, recording each request's form.
#[derive(Clone)]
pub struct SiteVerify {
    pub url: String,
    verdict: Arc<Mutex<Value>>,
    requests: Arc<Mutex<Vec<Form>>>,
}

impl SiteVerify {
    pub fn start() -> Self {
        let verdict = Arc::new(Mutex::new(json!({"success": true, "hostname": "127.0.0.1"})));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = (verdict.clone(), requests.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/siteverify", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/siteverify", web::post().to(siteverify))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { url, verdict, requests }
    }

    /// What the endpoint answers from now on.
    pub fn answer(&self, verdict: Value) {
        *self.verdict.lock().unwrap() = verdict;
    }

    pub fn requests(&self) -> Vec<Form> {
        self.requests.lock().unwrap().clone()
    }
}

/// A form as received: its fields in order.
pub type Form = Vec<(String, String)>;
type SiteVerifyState = (Arc<Mutex<Value>>, Arc<Mutex<Vec<Form>>>);

async fn siteverify(state: web::Data<SiteVerifyState>, form: web::Form<Form>) -> HttpResponse {
    state.1.lock().unwrap().push(form.into_inner());
    HttpResponse::Ok().json(state.0.lock().unwrap().clone())
}

/// A relying party's redirect URI that takes form-posted authorization responses (OAuth 2.0 Form Post
/// Response Mode) at `/cb` and records each.
#[derive(Clone)]
pub struct FormPostReceiver {
    pub redirect_uri: String,
    received: Arc<Mutex<Vec<Form>>>,
}

impl FormPostReceiver {
    pub fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = received.clone();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let redirect_uri = format!("http://{}/cb", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/cb", web::post().to(receive_form_post))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { redirect_uri, received }
    }

    pub fn received(&self) -> Vec<Form> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive_form_post(state: web::Data<Arc<Mutex<Vec<Form>>>>, form: web::Form<Form>) -> HttpResponse {
    state.lock().unwrap().push(form.into_inner());
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><title>received</title><p id=received>received</p>")
}

/// An endpoint on 127.0.0.1 that takes POSTs at one path — a webhook receiver, a back-channel logout URI —,
/// records each as `record` reads it, and answers the statuses it is told to, in order, then 200.
#[derive(Clone)]
pub struct PostReceiver<T> {
    pub url: String,
    seen: Arc<Mutex<Vec<T>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl<T: Clone + Send + 'static> PostReceiver<T> {
    pub fn start(path: &'static str, record: fn(&HttpRequest, &[u8]) -> T) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::new()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let (state_seen, state_answers) = (seen.clone(), answers.clone());
        let server = HttpServer::new(move || {
            let (seen, answers) = (state_seen.clone(), state_answers.clone());
            App::new().route(
                path,
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    seen.lock().unwrap().push(record(&req, &body));
                    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                    async move {
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                            .body("the receiver's answer")
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { url, seen, answers }
    }

    pub fn seen(&self) -> Vec<T> {
        self.seen.lock().unwrap().clone()
    }

    /// Answers the next requests with these statuses.
    pub fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }
}

/// A request header as text (empty when absent).
pub fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
