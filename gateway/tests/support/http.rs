//! A small HTTP/1.1 client for the API tests (Connection: close): status, headers and body,
//! with a chosen source address and extra headers (Origin) when a test needs them.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("JSON body ({e}): {self:?}"))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The session cookie set by this response.
    pub fn session(&self) -> String {
        let c = self.header("set-cookie").expect("set-cookie");
        c.split(';').next().unwrap().to_string()
    }
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub enum Auth<'a> {
    None,
    Cookie(&'a str),
    Bearer(&'a str),
}

pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> Resp {
    http_raw(
        addr,
        method,
        path,
        auth,
        body.map(|b| ("application/json", b.to_string())),
    )
    .await
}

pub async fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    body: Option<(&str, String)>,
) -> Resp {
    Request::new(method, path)
        .auth(auth)
        .body(body)
        .send(addr)
        .await
}

/// A request with the less common parts: a source address, extra headers.
pub struct Request<'a> {
    method: &'a str,
    path: &'a str,
    auth: Auth<'a>,
    body: Option<(&'a str, String)>,
    headers: Vec<(&'a str, String)>,
    from: Option<IpAddr>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Request<'a> {
        Request {
            method,
            path,
            auth: Auth::None,
            body: None,
            headers: Vec::new(),
            from: None,
        }
    }
    pub fn auth(mut self, auth: Auth<'a>) -> Self {
        self.auth = auth;
        self
    }
    pub fn body(mut self, body: Option<(&'a str, String)>) -> Self {
        self.body = body;
        self
    }
    pub fn json(self, body: Value) -> Self {
        self.body(Some(("application/json", body.to_string())))
    }
    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    /// Connects from this local address (any of 127.0.0.0/8 works on Linux).
    pub fn from(mut self, ip: IpAddr) -> Self {
        self.from = Some(ip);
        self
    }

    pub async fn send(self, addr: SocketAddr) -> Resp {
        let s = match self.from {
            None => TcpStream::connect(addr).await.expect("connect"),
            Some(ip) => {
                let sock = TcpSocket::new_v4().expect("socket");
                sock.bind(SocketAddr::new(ip, 0)).expect("bind source");
                sock.connect(addr).await.expect("connect")
            }
        };
        self.send_on(s, addr).await
    }

    /// Sends on a connected stream (TLS, say) to `addr` (the Host header).
    pub async fn send_on<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        mut s: S,
        addr: SocketAddr,
    ) -> Resp {
        let mut req = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
            self.method, self.path
        );
        match self.auth {
            Auth::None => {}
            Auth::Cookie(c) => req.push_str(&format!("Cookie: {c}\r\n")),
            Auth::Bearer(t) => req.push_str(&format!("Authorization: Bearer {t}\r\n")),
        }
        for (k, v) in &self.headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = match self.body {
            Some((ct, b)) => {
                req.push_str(&format!(
                    "Content-Type: {ct}\r\nContent-Length: {}\r\n",
                    b.len()
                ));
                b
            }
            None => {
                req.push_str("Content-Length: 0\r\n");
                String::new()
            }
        };
        req.push_str("\r\n");
        req.push_str(&body);
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
            .await
            .expect("answer within 30 s")
            .unwrap();
        parse(&raw)
    }
}

fn parse(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut r = rest;
        while let Some((len, after)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            r = &after[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    Resp {
        status,
        headers,
        body,
    }
}

/// Logs in; the session cookie.
pub async fn login(addr: SocketAddr, email: &str, pw: &str) -> String {
    let r = http(
        addr,
        "POST",
        "/api/v1/sessions",
        Auth::None,
        Some(serde_json::json!({"email": email, "password": pw})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.session()
}
