//! Requests and answers at the runtime's level: a request's body read to the end, and an
//! answer built from a status, headers and a body.

use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;

/// The JSON content type every answer but the envelope's has.
pub(super) const JSON: &str = "application/json; charset=utf-8";

/// The request body, read to the end.
pub(super) async fn body_bytes(req: &web_sys::Request) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(req.array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// An answer with these headers and body (none for a 204).
pub(super) fn answer(
    status: u16,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<web_sys::Response, JsValue> {
    let h = web_sys::Headers::new()?;
    for (name, value) in headers {
        h.set(name, value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&h);
    web_sys::Response::new_with_opt_str_and_init(body, &init)
}
