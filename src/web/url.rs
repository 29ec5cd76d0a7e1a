//! The browser's WHATWG URL parser (`new URL(input, base)`) as the core's
//! [`UrlParser`](crate::core::weburl::UrlParser).
//!
//! The core module is built without the `url` crate (`native-url`): [`install`] runs when the
//! module starts (`crate::api`), so every URL the core decides on is the browser's own parse,
//! and the module carries no `url`/IDNA code. Built with `native-url` (the browser tests'
//! build), the `url` crate stays the parser and this adapter is only exercised by
//! `tests/web/weburl.rs`, which checks it against the `url` crate's view of the WPT corpus.

use crate::core::weburl::{failure_kind, UrlParseError, UrlParser, WebUrl};

/// `new URL(input, base)`, read back through its getters.
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserUrlParser;

fn construct(input: &str, base: Option<&str>) -> Option<WebUrl> {
    let url = match base {
        None => web_sys::Url::new(input),
        Some(b) => web_sys::Url::new_with_base(input, b),
    }
    .ok()?;
    WebUrl::from_parts(
        &url.href(),
        &url.protocol(),
        &url.username(),
        &url.password(),
        &url.hostname(),
        &url.port(),
        &url.pathname(),
    )
    .ok()
}

impl UrlParser for BrowserUrlParser {
    fn parse(&self, input: &str, base: Option<&str>) -> Result<WebUrl, UrlParseError> {
        if let Some(url) = construct(input, base) {
            return Ok(url);
        }
        let parsed_base = base.map(|b| construct(b, None));
        let kind = failure_kind(
            input,
            base.zip(parsed_base.as_ref()).map(|(b, p)| (b, p.as_ref())),
        );
        let message = match kind {
            crate::core::weburl::UrlParseErrorKind::RelativeWithoutBase => {
                "relative URL without a base"
            }
            _ => "invalid URL",
        };
        Err(UrlParseError::new(kind, message))
    }
}

/// Make the browser's parser the core's, on this thread (only where the `url` crate is not
/// compiled in).
#[cfg(not(feature = "native-url"))]
pub(crate) fn install() {
    crate::core::weburl::set_url_parser(Some(std::rc::Rc::new(BrowserUrlParser)));
}
