//! Each person's voicemail (docs/api-voicemail.md): the messages (list, play or download,
//! mark heard, delete) and the greetings per situation (upload a recording, play, remove).
//! Every resource is the caller's own under `/me`; an id of someone else's message is 404.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa::ToSchema;

use super::{ApiError, ApiJson, ApiResult, ApiState, Caller, ErrorBody, Id, person};
use crate::voicemail::{
    Greeting, MAX_GREETING_BYTES, MAX_GREETING_S, Situation, Voicemail, check_wav,
};

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/me/voicemail", get(my_voicemail))
        .route(
            "/api/v1/me/voicemail/{id}",
            patch(update_voicemail).delete(delete_voicemail),
        )
        .route("/api/v1/me/voicemail/{id}/audio", get(voicemail_audio))
        .route(
            "/api/v1/me/voicemail-pin",
            get(my_voicemail_pin)
                .put(set_voicemail_pin)
                .delete(delete_voicemail_pin),
        )
        .route("/api/v1/me/greetings", get(my_greetings))
        .route("/api/v1/greetings/builtin/{lang}", get(builtin_greeting))
        .route(
            "/api/v1/me/greetings/{situation}",
            get(greeting_audio)
                .put(set_greeting)
                .delete(delete_greeting),
        )
}

/// The caller's messages, newest first.
#[derive(Serialize, ToSchema)]
pub struct VoicemailList {
    pub items: Vec<Voicemail>,
    /// Messages not heard yet (the badge).
    pub new: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct VoicemailUpdate {
    pub heard: bool,
}

#[derive(Serialize, ToSchema)]
pub struct GreetingList {
    /// The situations with a recorded greeting; the others play the built-in one.
    pub greetings: Vec<Greeting>,
}

#[utoipa::path(get, path = "/api/v1/me/voicemail",
    responses((status = 200, body = VoicemailList), (status = 401, body = ErrorBody)))]
pub(super) async fn my_voicemail(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<VoicemailList>> {
    let (items, new) = st.store.voicemails(person(&caller)?.id).await?;
    Ok(Json(VoicemailList { items, new }))
}

/// Marks a message heard (or new again).
#[utoipa::path(patch, path = "/api/v1/me/voicemail/{id}", params(("id" = i64, Path)),
    request_body = VoicemailUpdate,
    responses((status = 200, body = Voicemail), (status = 404, body = ErrorBody)))]
pub(super) async fn update_voicemail(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
    ApiJson(body): ApiJson<VoicemailUpdate>,
) -> ApiResult<Json<Voicemail>> {
    let me = person(&caller)?.id;
    let v = st
        .store
        .set_voicemail_heard(me, id, body.heard)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    mailbox_changed(&st, &caller).await;
    Ok(Json(v))
}

#[utoipa::path(delete, path = "/api/v1/me/voicemail/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_voicemail(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    let me = person(&caller)?.id;
    if st.store.delete_voicemail(me, id).await? {
        mailbox_changed(&st, &caller).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("message"))
    }
}

#[derive(Serialize, ToSchema)]
pub struct VoicemailPinState {
    /// A PIN is set: the box opens from any company phone with `*97`.
    pub set: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct VoicemailPinBody {
    /// 4 to 10 digits.
    pub pin: String,
}

/// Why `pin` is refused as a voicemail PIN for extension `ext`, if it is.
pub(crate) fn pin_problem(pin: &str, ext: &str) -> Option<&'static str> {
    if !(4..=10).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Some("must be 4 to 10 digits");
    }
    let b = pin.as_bytes();
    let same = b.iter().all(|d| *d == b[0]);
    let up = b.windows(2).all(|w| w[1] == w[0] + 1);
    let down = b.windows(2).all(|w| w[0] == w[1] + 1);
    if same || up || down || pin == ext {
        return Some("is too easy to guess (all one digit, a run like 1234, or your extension)");
    }
    None
}

/// Whether the caller has a voicemail PIN (the PIN itself is never shown).
#[utoipa::path(get, path = "/api/v1/me/voicemail-pin",
    responses((status = 200, body = VoicemailPinState), (status = 401, body = ErrorBody)))]
pub(super) async fn my_voicemail_pin(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<VoicemailPinState>> {
    let set = st.store.has_voicemail_pin(person(&caller)?.id).await?;
    Ok(Json(VoicemailPinState { set }))
}

/// Sets the PIN that opens the caller's box from another phone (`*97`, the extension, the
/// PIN). Stored as an argon2 hash.
#[utoipa::path(put, path = "/api/v1/me/voicemail-pin", request_body = VoicemailPinBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(super) async fn set_voicemail_pin(
    State(st): State<ApiState>,
    caller: Caller,
    ApiJson(body): ApiJson<VoicemailPinBody>,
) -> ApiResult<StatusCode> {
    let me = person(&caller)?;
    if let Some(problem) = pin_problem(&body.pin, &me.extension) {
        return Err(ApiError::field(
            "validation_failed",
            StatusCode::BAD_REQUEST,
            "pin",
            problem,
        ));
    }
    let hash = crate::accounts::hash_password(&body.pin).await?;
    st.store.set_voicemail_pin(me.id, Some(&hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the PIN: the box opens only from the caller's own devices again.
#[utoipa::path(delete, path = "/api/v1/me/voicemail-pin",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub(super) async fn delete_voicemail_pin(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    st.store
        .set_voicemail_pin(person(&caller)?.id, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The recording (WAV), with ranges for seeking; `?download` asks the browser to save it.
#[utoipa::path(get, path = "/api/v1/me/voicemail/{id}/audio", params(("id" = i64, Path)),
    responses((status = 200, content_type = "audio/wav"), (status = 404, body = ErrorBody)))]
pub(super) async fn voicemail_audio(
    State(st): State<ApiState>,
    caller: Caller,
    Id(id): Id,
    req: Request,
) -> ApiResult<Response> {
    let me = person(&caller)?.id;
    let (v, path) = st
        .store
        .voicemail(me, id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let download = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "download" || p.starts_with("download="))
    });
    let name = format!(
        "voicemail-{}-{}.wav",
        v.received_at
            .replace([':', '-'], "")
            .replace('T', "-")
            .trim_end_matches('Z'),
        v.caller
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
            .collect::<String>()
    );
    serve(path, req, download.then_some(name)).await
}

#[utoipa::path(get, path = "/api/v1/me/greetings",
    responses((status = 200, body = GreetingList), (status = 401, body = ErrorBody)))]
pub(super) async fn my_greetings(
    State(st): State<ApiState>,
    caller: Caller,
) -> ApiResult<Json<GreetingList>> {
    let greetings = st.store.greetings(person(&caller)?.id).await?;
    Ok(Json(GreetingList { greetings }))
}

fn situation(raw: &str) -> ApiResult<Situation> {
    Situation::parse(raw).ok_or_else(|| ApiError::not_found("greeting situation"))
}

/// Sets the greeting for a situation (`busy`, `no_answer`, `offline`, `default`): a WAV file,
/// 16-bit PCM mono, 8–48 kHz, at most 60 s (the web app records and converts it).
#[utoipa::path(put, path = "/api/v1/me/greetings/{situation}", params(("situation" = String, Path)),
    request_body(content = Vec<u8>, content_type = "audio/wav"),
    responses((status = 200, body = Greeting), (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(super) async fn set_greeting(
    State(st): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    req: Request,
) -> ApiResult<Json<Greeting>> {
    let me = person(&caller)?.id;
    let s = situation(&raw)?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(ct.as_str(), "audio/wav" | "audio/x-wav" | "audio/wave") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("A greeting is a WAV file (Content-Type: audio/wav), not {ct:?}."),
        ));
    }
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_GREETING_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "The recording is larger than {} MB.",
                    MAX_GREETING_BYTES >> 20
                ),
            )
        })?;
    let duration = check_wav(&bytes, MAX_GREETING_S).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_audio",
            format!("This recording cannot be a greeting: {e}."),
        )
    })?;
    Ok(Json(st.store.set_greeting(me, s, &bytes, duration).await?))
}

#[utoipa::path(get, path = "/api/v1/me/greetings/{situation}", params(("situation" = String, Path)),
    responses((status = 200, content_type = "audio/wav"), (status = 404, body = ErrorBody)))]
pub(super) async fn greeting_audio(
    State(st): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let me = person(&caller)?.id;
    let path = st
        .store
        .greeting_file(me, situation(&raw)?)
        .await?
        .ok_or_else(|| ApiError::not_found("greeting"))?;
    serve(path, req, None).await
}

#[utoipa::path(delete, path = "/api/v1/me/greetings/{situation}", params(("situation" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_greeting(
    State(st): State<ApiState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let me = person(&caller)?.id;
    if st.store.delete_greeting(me, situation(&raw)?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("greeting"))
    }
}

/// The built-in greeting in a language (`en`, `pl`), which callers hear when the person
/// recorded none.
#[utoipa::path(get, path = "/api/v1/greetings/builtin/{lang}", params(("lang" = String, Path)),
    responses((status = 200, content_type = "audio/wav"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn builtin_greeting(
    _caller: Caller,
    Path(lang): Path<String>,
) -> ApiResult<Response> {
    let lang = crate::mail::Lang::parse(&lang).ok_or_else(|| ApiError::not_found("language"))?;
    let mut resp = crate::voicemail::builtin_greeting(lang).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    Ok(resp)
}

/// Serves a file (ranges, conditional requests) as `audio/wav`, private to the caller.
async fn serve(
    path: std::path::PathBuf,
    req: Request,
    download_as: Option<String>,
) -> ApiResult<Response> {
    let mut resp = ServeFile::new_with_mime(&path, &mime_wav())
        .oneshot(req)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map(Body::new)
        .into_response();
    if resp.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::not_found("recording file"));
    }
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(name) = download_as
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

fn mime_wav() -> mime::Mime {
    "audio/wav"
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM)
}

/// Tells the core that the caller's mailbox changed (message-waiting NOTIFYs follow).
async fn mailbox_changed(st: &ApiState, caller: &Caller) {
    if let Ok(me) = person(caller) {
        let _ = st
            .core
            .send(crate::driver::CoreInput::MailboxChanged {
                company: me.company_id,
                ext: me.extension.clone(),
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::pin_problem;

    #[test]
    fn guessable_pins_are_refused() {
        for bad in [
            "",
            "123",
            "12a4",
            "12345678901",
            "0000",
            "1234",
            "98765",
            "101",
        ] {
            assert!(pin_problem(bad, "101").is_some(), "{bad:?}");
        }
        assert!(
            pin_problem("4101", "4101").is_some(),
            "the extension itself"
        );
        for good in ["4826", "9031", "1235", "0112358"] {
            assert_eq!(pin_problem(good, "101"), None, "{good:?}");
        }
    }
}
