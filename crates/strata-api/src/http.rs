//! Request and response helpers shared by every route: bodies, JSON, query strings, filters.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::Stream;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use serde::Serialize;
use serde::de::DeserializeOwned;
use strata_engine::filters::Filters;

use crate::error::{ApiError, ApiResult};

/// The body type of every response.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// The largest JSON request body accepted. Container create bodies are a few KiB; anything near
/// this is an attack or a mistake, and is refused before it is buffered.
pub const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

/// An empty body.
pub fn empty() -> Body {
    Full::new(Bytes::new()).map_err(|e: Infallible| match e {}).boxed_unsync()
}

/// A body of the given bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|e: Infallible| match e {}).boxed_unsync()
}

/// A body streamed from `stream` (for logs, tar archives, progress).
pub fn streaming<S>(stream: S) -> Body
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    use futures_util::StreamExt;
    StreamBody::new(stream.map(|r| r.map(Frame::data))).boxed_unsync()
}

/// A response with `status` and no body.
pub fn status(status: StatusCode) -> Response<Body> {
    let mut resp = Response::new(empty());
    *resp.status_mut() = status;
    resp
}

/// A JSON response, `Content-Type: application/json`.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            let mut resp = Response::new(full(bytes));
            *resp.status_mut() = status;
            resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        Err(e) => error_response(&ApiError::internal(format!("cannot encode response: {e}"))),
    }
}

/// Docker's error body. The Content-Type must be exactly `application/json`, or the CLI prints
/// the raw JSON instead of the message.
pub fn error_response(err: &ApiError) -> Response<Body> {
    let body = serde_json::json!({ "message": err.message });
    let mut resp = Response::new(full(format!("{body}\n")));
    *resp.status_mut() = err.status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A request as handlers see it: the head, and the body until a handler takes it.
///
/// The router drains a body no handler took (up to [`MAX_DRAINED_BODY`]) before answering:
/// closing a unix socket with unread data makes the client's read fail with "connection reset"
/// instead of seeing the answer.
#[derive(Debug)]
pub struct ApiRequest {
    pub parts: http::request::Parts,
    body: Option<Incoming>,
}

/// The most of an unread body the router reads and discards before answering.
pub const MAX_DRAINED_BODY: usize = 1024 * 1024;

impl ApiRequest {
    pub fn new(req: http::Request<Incoming>) -> ApiRequest {
        let (parts, body) = req.into_parts();
        ApiRequest { parts, body: Some(body) }
    }

    /// Takes the body (streaming uploads, tar archives). A second call gets `None`.
    pub fn take_body(&mut self) -> Option<Incoming> {
        self.body.take()
    }

    /// Decodes the JSON body, which may be empty (`Ok(None)`).
    pub async fn json_opt<T: DeserializeOwned>(&mut self) -> ApiResult<Option<T>> {
        check_json_content_type(&self.parts)?;
        let Some(body) = self.body.take() else { return Ok(None) };
        let bytes = read_body(body, MAX_JSON_BODY).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| ApiError::bad_request(e.to_string()))
    }

    /// Decodes a JSON body that must be present.
    pub async fn json<T: DeserializeOwned>(&mut self) -> ApiResult<T> {
        self.json_opt().await?.ok_or_else(|| ApiError::bad_request("request body is empty; JSON expected"))
    }

    /// The hijack handle of an `Upgrade: tcp` request (attach, exec start): resolves to the raw
    /// connection once the 101 response has been written.
    pub fn upgrade(&mut self) -> Option<hyper::upgrade::OnUpgrade> {
        self.parts.extensions.remove::<hyper::upgrade::OnUpgrade>()
    }

    /// Reads and discards what is left of the body, up to [`MAX_DRAINED_BODY`].
    pub async fn drain(&mut self) {
        if let Some(mut body) = self.body.take() {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    seen += data.len();
                    if seen > MAX_DRAINED_BODY {
                        break;
                    }
                }
            }
        }
    }
}

/// Reads a whole request body, refusing more than `limit` bytes.
pub async fn read_body(body: Incoming, limit: usize) -> ApiResult<Bytes> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("request body is larger than {limit} bytes")))
            } else {
                Err(ApiError::bad_request(format!("error reading request body: {e}")))
            }
        }
    }
}

/// Checks Docker's rule for JSON bodies: a body must be declared `application/json` (a missing
/// Content-Type is fine only when the body is empty).
pub fn check_json_content_type(parts: &http::request::Parts) -> ApiResult<()> {
    let declared_len =
        parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let ct = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.is_empty() && declared_len.unwrap_or(0) == 0 {
        return Ok(());
    }
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("Content-Type specified ({ct}) must be 'application/json'")))
    }
}

/// The decoded query string of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses `a=1&b=x%20y&c` (form encoding: `+` is a space).
    pub fn parse(raw: Option<&str>) -> Query {
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            percent_encoding::percent_decode_str(&s).decode_utf8_lossy().into_owned()
        };
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order (`names=a&names=b`).
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// Docker's boolean query values: absent, empty, `0`, `no`, `false` and `none` are false;
    /// anything else is true.
    pub fn bool(&self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "no" | "false" | "none"),
        }
    }

    /// An integer value; absent or empty gives `None`, anything unparsable a 400.
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}: not an integer"))),
        }
    }

    /// The `filters` argument.
    pub fn filters(&self) -> ApiResult<Filters> {
        parse_filters(self.get("filters").unwrap_or(""))
    }
}

/// Parses Docker's JSON filters in both wire forms: `{"k":{"v":true}}` (current) and
/// `{"k":["v"]}` (old clients).
pub fn parse_filters(raw: &str) -> ApiResult<Filters> {
    let mut filters = Filters::new();
    if raw.trim().is_empty() {
        return Ok(filters);
    }
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid filters argument {raw:?}: {e}")))?;
    let Some(map) = value.as_object() else {
        return Err(ApiError::bad_request(format!("invalid filters argument {raw:?}: expected a JSON object")));
    };
    for (key, values) in map {
        match values {
            serde_json::Value::Object(set) => {
                for (v, on) in set {
                    if on.as_bool() != Some(false) {
                        filters.add(key.clone(), v.clone());
                    }
                }
            }
            serde_json::Value::Array(list) => {
                for v in list {
                    match v.as_str() {
                        Some(s) => filters.add(key.clone(), s),
                        None => {
                            return Err(ApiError::bad_request(format!(
                                "invalid filters argument {raw:?}: values of {key:?} must be strings"
                            )));
                        }
                    }
                }
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid filters argument {raw:?}: {key:?} must map to an object or a list"
                )));
            }
        }
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_form_encoding_and_repeats() {
        let q = Query::parse(Some("names=a&names=b%2Fc&force=1&x=a+b&flag"));
        assert_eq!(q.get_all("names"), vec!["a", "b/c"]);
        assert!(q.bool("force"));
        assert!(!q.bool("missing"));
        assert_eq!(q.get("x"), Some("a b"));
        assert_eq!(q.get("flag"), Some(""));
        assert!(!q.bool("flag"));
        for falsy in ["0", "no", "false", "none", "False"] {
            assert!(!Query::parse(Some(&format!("v={falsy}"))).bool("v"), "{falsy}");
        }
    }

    #[test]
    fn ints_are_checked() {
        assert_eq!(Query::parse(Some("t=10")).int("t"), Ok(Some(10)));
        assert_eq!(Query::parse(Some("t=")).int("t"), Ok(None));
        assert!(Query::parse(Some("t=x")).int("t").is_err());
    }

    #[test]
    fn filters_parse_in_both_wire_forms() {
        let a = parse_filters(r#"{"label":{"a=b":true},"dangling":{"true":true}}"#).expect("map form");
        assert_eq!(a.get("label").collect::<Vec<_>>(), vec!["a=b"]);
        let b = parse_filters(r#"{"label":["a=b"],"dangling":["true"]}"#).expect("list form");
        assert_eq!(a, b);
        assert!(parse_filters("").expect("empty").is_empty());
    }

    fn parts(ct: Option<&str>, len: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::builder().method("POST").uri("/volumes/create");
        if let Some(ct) = ct {
            b = b.header(CONTENT_TYPE, ct);
        }
        if let Some(len) = len {
            b = b.header(CONTENT_LENGTH, len);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn json_bodies_must_be_declared_json() {
        assert!(check_json_content_type(&parts(Some("application/json"), Some("2"))).is_ok());
        assert!(check_json_content_type(&parts(Some("application/json; charset=utf-8"), Some("2"))).is_ok());
        assert!(check_json_content_type(&parts(None, Some("0"))).is_ok(), "empty POSTs carry no type");
        assert!(check_json_content_type(&parts(None, None)).is_ok());
        let err = check_json_content_type(&parts(Some("text/plain"), Some("2"))).expect_err("text/plain");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.message, "Content-Type specified (text/plain) must be 'application/json'");
        assert!(check_json_content_type(&parts(None, Some("5"))).is_err(), "a body needs a type");
    }

    #[test]
    fn bad_filters_are_400_not_500() {
        for raw in ["not json", "[1]", r#"{"a":1}"#, r#"{"a":[1]}"#] {
            let err = parse_filters(raw).expect_err(raw);
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{raw}");
        }
    }
}
