//! The HTML sanitizer policy: what plugin-provided HTML may contain after it passes through
//! [`Sanitizer::sanitize`] (ammonia underneath: in this crate with the `ammonia` feature, or in
//! the browser's separately loaded sanitizer module; see [`Sanitizer`], "Where the cleaning runs").
//!
//! # Policy
//!
//! The default allow-list is the HTML-namespace part of the WICG Sanitizer API *safe default*
//! (`tests/data/safe-default-configuration.json`), with these differences:
//!
//! - **No SVG or MathML at all.** Every known ammonia XSS (RUSTSEC-2021-0074, RUSTSEC-2025-0071,
//!   RUSTSEC-2026-0193, RUSTSEC-2026-0213, the processing-instruction confusion) needed `svg` or
//!   `math` — or a raw-text element — on the allow-list. Neither can ever be allowed, not even
//!   through [`SanitizerConfig`]: they are outside the bounded superset ([`allowable_elements`]).
//! - **No raw-text, RCDATA, template or embedding element**: `script`, `style`, `xmp`, `iframe`,
//!   `noembed`, `noframes`, `noscript`, `plaintext`, `textarea`, `title`, `template`, `object`,
//!   `embed`. Their *content* is dropped too, not unwrapped into text.
//! - **No document-level element** (`html`, `head`, `body`, `base`, `meta`, `link`): the input is a
//!   fragment.
//! - **No form element** (`form`, `input`, `button`, `select`, `option`, `textarea`, `label`,
//!   `fieldset`, …): no plugin script runs in `shadow` mode, so controls would only serve
//!   credential phishing (password managers autofill inputs in the host's origin), submissions to
//!   foreign origins, and `name`-based DOM clobbering (`<form><input name=attributes>`).
//! - **`img` is added** (`src`, `alt`, `width`, `height`): plugins show pictures. A remote image is
//!   a request from the host page, so the host's CSP `img-src` decides which origins load.
//!
//! Attributes: `dir`, `lang`, `title` everywhere, plus the WICG per-element attributes. Never:
//! event handlers (`on*`), `style` (CSS can lay a `position: fixed` overlay over the host page
//! from inside a shadow root and make requests through `url()`), `srcdoc`, `srcset`, `formaction`,
//! `action`, `ping`, `name`, `nonce`, `is`, `slot`, `xlink:href`.
//!
//! URLs (`href`, `src`, `cite`): `http:`, `https:`, `mailto:`, `tel:` and relative URLs. `data:`
//! only in `<img src>`, only when [`SanitizerConfig::allow_data_images`] is set, and only for
//! `image/png`, `image/gif`, `image/jpeg`, `image/webp` and `image/avif` (never `image/svg+xml`).
//!
//! Links always get `rel="noopener noreferrer"`; `target` is stripped, or forced to `_blank` with
//! [`LinkTarget::Blank`].
//!
//! # Remote UI
//!
//! [`Sanitizer::for_remote_ui`] derives the policy for HTML a worker plugin renders into the
//! host's closed shadow root (`sdk.ui.render`): the same allow-list plus the form controls the
//! plugin reads through `ui.action` events (`form`, `input`, `button`, `label`, `fieldset`,
//! `legend`), the `data-action` attribute, and `name`/`value` on controls. Every URL-bearing
//! attribute survives only when it is an absolute `http(s):` URL into one of the plugin's
//! declared `assets` origins ([`url_attribute_allowed`]): no relative URLs (they resolve
//! against the host page), no `data:`, `mailto:`, `javascript:`.
//!
//! DOM clobbering: `name` is never allowed; `id` is off by default and, when a host allows it,
//! every value is prefixed with [`ID_PREFIX`] so plugin HTML cannot shadow `document.<name>` or
//! `window.<name>` properties the host's code uses. (Fragment links `href="#x"` do not follow the
//! prefix; hosts that want in-page anchors rewrite them.)
// Without the `ammonia` feature (the browser's core module) the cleaner's helpers below are
// unused: they run in the sanitizer module, which builds this file with the feature.
#![cfg_attr(not(feature = "ammonia"), allow(dead_code))]

use crate::core::collections::{SortedMap, SortedSet};
use std::borrow::Cow;
use std::cell::RefCell;
#[cfg(feature = "ammonia")]
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;

use super::weburl::{UrlParseErrorKind, WebUrl};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::error::{cold_text, Coded, ErrorCode};

/// The prefix given to every `id` value when a host allows `id`.
pub const ID_PREFIX: &str = "user-content-";

/// The default for [`SanitizerConfig::max_tags`].
pub const DEFAULT_MAX_TAGS: usize = 10_000;

/// The largest [`SanitizerConfig::max_tags`] a host may set.
pub const MAX_MAX_TAGS: usize = 100_000;

/// The `rel` every `<a>` gets.
pub const LINK_REL: &str = "noopener noreferrer";

/// The default elements: the WICG safe default's HTML elements minus `html`, `head`, `body` and
/// `title`, plus `img`.
const DEFAULT_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "search",
    "section",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Elements a host may add with `allowElements`; harmless phrasing and disclosure elements.
const EXTRA_ELEMENTS: &[&str] = &["acronym", "details", "rb", "rtc", "strike", "summary", "tt"];

/// Attributes allowed on every default element.
const DEFAULT_GENERIC_ATTRIBUTES: &[&str] = &["dir", "lang", "title"];

/// Attributes a host may add for every element (`"*"` in `allowAttributes`). `aria-*` stands for
/// every attribute starting with `aria-`.
const EXTRA_GENERIC_ATTRIBUTES: &[&str] = &["aria-*", "class", "hidden", "id", "role", "translate"];

/// The WICG safe default's per-element attributes, plus `img`.
const DEFAULT_ELEMENT_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "hreflang", "type"]),
    ("blockquote", &["cite"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("data", &["value"]),
    ("del", &["cite", "datetime"]),
    ("img", &["alt", "height", "src", "width"]),
    ("ins", &["cite", "datetime"]),
    ("li", &["value"]),
    ("ol", &["reversed", "start", "type"]),
    ("q", &["cite"]),
    ("td", &["colspan", "headers", "rowspan"]),
    ("th", &["abbr", "colspan", "headers", "rowspan", "scope"]),
    ("time", &["datetime"]),
];

/// Per-element attributes a host may add.
const EXTRA_ELEMENT_ATTRIBUTES: &[(&str, &[&str])] =
    &[("details", &["open"]), ("img", &["decoding", "loading"])];

/// Elements whose whole subtree is dropped (not unwrapped into text).
const CLEAN_CONTENT_ELEMENTS: &[&str] = &[
    "applet",
    "embed",
    "frame",
    "frameset",
    "iframe",
    "math",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "plaintext",
    "script",
    "select",
    "style",
    "svg",
    "template",
    "textarea",
    "title",
    "xmp",
];

/// Elements a remote-UI profile adds ([`Sanitizer::for_remote_ui`]): the controls a plugin
/// reads through `ui.action`. No `select` (html5ever's in-select parsing differs from
/// Chromium's customizable select: a mutation-XSS risk) and no `textarea` (RCDATA).
const REMOTE_UI_ELEMENTS: &[&str] = &["button", "fieldset", "form", "input", "label", "legend"];

/// How many extra passes a remote-UI sanitizer makes to reach a fixpoint (each shrinks or
/// keeps the tree; two suffice for every case the tests found).
const MAX_EXTRA_PASSES: usize = 4;

/// The largest time limit of a clean, in milliseconds ([`Sanitizer::with_time_limit`]).
pub const MAX_TIME_LIMIT_MS: u32 = 60_000;

/// The bytes a time-limited clean feeds the parser at once ([`Sanitizer::with_time_limit`]):
/// small enough that one piece of the worst input (deep nesting, each tag a scan of every open
/// element) parses in a few milliseconds.
pub const TIME_LIMIT_CHUNK: usize = 512;

thread_local! {
    static CLEAN_CLOCK: std::cell::Cell<Option<fn() -> f64>> = const { std::cell::Cell::new(None) };
    /// [`cleans_ending_by`]'s deadline, while it runs.
    static CLEAN_DEADLINE: std::cell::Cell<Option<f64>> = const { std::cell::Cell::new(None) };
}

/// Measure time-limited cleans ([`Sanitizer::with_time_limit`]) on `clock` (milliseconds,
/// monotonic): the sanitizer module installs `performance.now()`, and tests a clock of their
/// own. Without one, natively the process's monotonic clock; in wasm, no clock: the limit then
/// cannot be measured and is not applied (the package installs one: the sanitizer module when it
/// loads, the core module when it mounts a remote UI).
pub fn set_clean_clock(clock: fn() -> f64) {
    CLEAN_CLOCK.with(|c| c.set(Some(clock)));
}

/// The time, on the clean clock ([`set_clean_clock`]), by which a clean that starts now with a
/// time limit of `limit_ms` must end; `None` where there is no clock.
///
/// The engine takes one for each remote-UI render and hands it on with the render
/// ([`cleans_ending_by`]), so that the render's cleans together, not each of them, keep to
/// `limits.renderCleanMs`.
pub fn deadline_in(limit_ms: u32) -> Option<f64> {
    clean_clock().map(|clock| clock() + f64::from(limit_ms))
}

/// Run `f` with every time-limited clean in it ending by `deadline` (a time on the clean clock)
/// at the latest, as well as by its own limit; `None` adds no deadline. Cleans without a time
/// limit ([`Sanitizer::with_time_limit`]) are not affected. The deadline set before is back when
/// `f` returns.
///
/// A remote UI's render is cleaned twice on the host page's main thread (by the engine, then
/// by the Trusted Types policy as it enters the DOM); the browser layer runs the second clean
/// by the deadline of the first, so that the two together hold the page at most the limit.
pub fn cleans_ending_by<R>(deadline: Option<f64>, f: impl FnOnce() -> R) -> R {
    /// Puts the deadline set before back, however `f` ends.
    struct Restore(Option<f64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CLEAN_DEADLINE.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(CLEAN_DEADLINE.with(|d| d.replace(deadline)));
    f()
}

/// The deadline [`cleans_ending_by`] set for the cleans running now, if any (the browser layer
/// passes it on to the sanitizer module, whose cleans read their own thread's).
pub fn clean_deadline() -> Option<f64> {
    CLEAN_DEADLINE.with(std::cell::Cell::get)
}

fn clean_clock() -> Option<fn() -> f64> {
    CLEAN_CLOCK.with(std::cell::Cell::get).or({
        #[cfg(not(target_arch = "wasm32"))]
        {
            Some(process_ms as fn() -> f64)
        }
        #[cfg(target_arch = "wasm32")]
        {
            None
        }
    })
}

/// Milliseconds since this process first asked.
#[cfg(not(target_arch = "wasm32"))]
fn process_ms() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1000.0
}

/// Attributes a remote-UI profile allows on every element.
const REMOTE_UI_GENERIC_ATTRIBUTES: &[&str] = &["data-action"];

/// Per-element attributes a remote-UI profile adds. `autocomplete` is always set to `off`
/// (kept from the input, then overwritten, like `rel` on links: see `from_parts`).
const REMOTE_UI_ELEMENT_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("button", &["disabled", "name", "type", "value"]),
    ("fieldset", &["disabled"]),
    ("form", &["autocomplete"]),
    (
        "input",
        &[
            "autocomplete",
            "checked",
            "disabled",
            "max",
            "maxlength",
            "min",
            "minlength",
            "name",
            "placeholder",
            "readonly",
            "required",
            "step",
            "type",
            "value",
        ],
    ),
];

/// `<input type>` values a remote UI keeps; any other type is dropped (the input is then a
/// text field). Never `password` (password managers would fill the host origin's saved
/// credentials into a plugin's form), `file` or `image` (a URL).
const REMOTE_UI_INPUT_TYPES: &[&str] = &[
    "button",
    "checkbox",
    "color",
    "date",
    "datetime-local",
    "hidden",
    "month",
    "number",
    "radio",
    "range",
    "reset",
    "search",
    "submit",
    "text",
    "time",
    "week",
];

/// Attributes a browser reads as URLs, or as lists of URLs (`srcset`, `ping`), in any HTML,
/// SVG or MathML element; `style` is handled separately (CSS `url()`).
const URL_BEARING_ATTRIBUTES: &[&str] = &[
    "action",
    "background",
    "cite",
    "codebase",
    "data",
    "formaction",
    "href",
    "icon",
    "longdesc",
    "manifest",
    "ping",
    "poster",
    "src",
    "srcset",
    "xlink:href",
];

/// The URL schemes allowed in `href`, `src` and `cite` (besides relative URLs).
const URL_SCHEMES: &[&str] = &["http", "https", "mailto", "tel"];

/// The `data:` image types allowed in `<img src>` when the host opts in.
const DATA_IMAGE_TYPES: &[&str] = &[
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
];

/// Every element a [`SanitizerConfig`] may allow: the default list plus a few harmless extras.
///
/// The list is fixed at compile time; nothing in SVG or MathML, no raw-text, RCDATA, template,
/// embedding, document-level or form element is on it.
///
/// ```
/// use plugin_warden::core::sanitize::allowable_elements;
/// assert!(allowable_elements().contains(&"details"));
/// assert!(!allowable_elements().contains(&"svg"));
/// assert!(!allowable_elements().contains(&"style"));
/// ```
pub fn allowable_elements() -> Vec<&'static str> {
    let set: SortedSet<&'static str> = DEFAULT_ELEMENTS
        .iter()
        .chain(EXTRA_ELEMENTS)
        .copied()
        .collect();
    set.into_iter().collect()
}

/// Every attribute a [`SanitizerConfig`] may allow, as an [`AllowedAttributes`] value.
///
/// ```
/// use plugin_warden::core::sanitize::allowable_attributes;
/// let all = allowable_attributes();
/// assert!(all.generic.contains(&"class"));
/// assert!(!all.generic.contains(&"style"));
/// assert_eq!(all.generic_prefixes, vec!["aria-"]);
/// ```
pub fn allowable_attributes() -> AllowedAttributes {
    let mut generic = SortedSet::new();
    let mut prefixes = SortedSet::new();
    for &a in DEFAULT_GENERIC_ATTRIBUTES
        .iter()
        .chain(EXTRA_GENERIC_ATTRIBUTES)
    {
        match a.strip_suffix('*') {
            Some(prefix) => prefixes.insert(prefix),
            None => generic.insert(a),
        };
    }
    let mut elements: SortedMap<&'static str, SortedSet<&'static str>> = SortedMap::new();
    for &(e, attrs) in DEFAULT_ELEMENT_ATTRIBUTES
        .iter()
        .chain(EXTRA_ELEMENT_ATTRIBUTES)
    {
        elements.entry(e).or_default().extend(attrs.iter().copied());
    }
    AllowedAttributes {
        generic: generic.into_iter().collect(),
        generic_prefixes: prefixes.into_iter().collect(),
        elements: elements
            .into_iter()
            .map(|(e, a)| (e, a.into_iter().collect()))
            .collect(),
    }
}

/// Why a [`SanitizerConfig`] was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SanitizeError {
    /// An element outside the allowable superset was asked for.
    ElementNotAllowable {
        /// The element name as given.
        element: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An attribute outside the allowable superset was asked for.
    AttributeNotAllowable {
        /// The element (`*` for every element) as given.
        element: String,
        /// The attribute name as given.
        attribute: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// `maxTags` outside `1..=MAX_MAX_TAGS`.
    LimitOutOfRange {
        /// The value given.
        found: usize,
        /// The largest allowed value.
        max: usize,
    },
    /// The input has more start tags than the configured `maxTags`.
    TooManyTags {
        /// The configured limit.
        limit: usize,
        /// How many start tags the input has.
        found: usize,
    },
    /// No cleaner is available: in the browser, the sanitizer module has not been loaded.
    NotLoaded,
    /// The configuration did not deserialize.
    InvalidConfig {
        /// The deserializer's complaint (names the field).
        reason: String,
    },
    /// The cleaner could not finish: in the browser, a part of the sanitizer module this input
    /// needed could not be loaded (the message says which, and how to preload it).
    CleanerFailed {
        /// What the cleaner said.
        reason: String,
    },
    /// The clean took longer than the policy's time limit ([`Sanitizer::with_time_limit`]):
    /// stopped, nothing returned.
    TimeLimit {
        /// The limit, in milliseconds.
        limit_ms: u32,
    },
    /// A time limit outside `1..=`[`MAX_TIME_LIMIT_MS`].
    TimeLimitOutOfRange {
        /// The value given.
        found: u32,
    },
}

/// What a host's first sanitize can meet (the sanitizer module, or a part of it, not loaded)
/// is written here; the configuration errors, whose names are quoted (`{:?}`), in
/// `SanitizeError::fmt_config`: the core's split (scripts/split-module.mjs) then keeps only
/// this short function in the part every host loads.
impl fmt::Display for SanitizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SanitizeError::NotLoaded => f.write_str(cold_text!("the sanitizer module is not loaded: `await host.preload('sanitizer')` (or the free function `preload('sanitizer')`) before calling this synchronously")),
            SanitizeError::CleanerFailed { reason } => f.write_str(reason),
            other => other.fmt_config(f),
        }
    }
}

impl SanitizeError {
    #[inline(never)]
    fn fmt_config(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SanitizeError::ElementNotAllowable { element, reason } => {
                write!(f, "element {element:?} cannot be allowed: {reason}")
            }
            SanitizeError::AttributeNotAllowable {
                element,
                attribute,
                reason,
            } => write!(
                f,
                "attribute {attribute:?} on {element:?} cannot be allowed: {reason}"
            ),
            SanitizeError::LimitOutOfRange { found, max } => {
                write!(f, "maxTags must be between 1 and {max}; found {found}")
            }
            SanitizeError::TooManyTags { limit, found } => write!(
                f,
                "the HTML has more than {limit} start tags (found {found})"
            ),
            SanitizeError::TimeLimit { limit_ms } => write!(
                f,
                "the HTML took longer than {limit_ms} ms to clean (deep nesting is slow to parse): stopped, nothing shown"
            ),
            SanitizeError::TimeLimitOutOfRange { found } => write!(
                f,
                "a sanitizer's time limit must be between 1 and {MAX_TIME_LIMIT_MS} ms; found {found}"
            ),
            SanitizeError::InvalidConfig { reason } => {
                write!(f, "invalid sanitizer configuration: {reason}")
            }
            SanitizeError::NotLoaded | SanitizeError::CleanerFailed { .. } => {
                fmt::Display::fmt(self, f)
            }
        }
    }
}

impl Coded for SanitizeError {
    fn code(&self) -> ErrorCode {
        match self {
            // Plugin-provided HTML over a limit, like any other oversized message.
            SanitizeError::TooManyTags { .. } => ErrorCode::MessageRejected,
            SanitizeError::TimeLimit { .. } => ErrorCode::Timeout,
            SanitizeError::NotLoaded | SanitizeError::CleanerFailed { .. } => {
                ErrorCode::ModuleNotLoaded
            }
            // Everything else is a host configuration mistake.
            _ => ErrorCode::InvalidArgument,
        }
    }
}

/// What to do with `target` on links.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LinkTarget {
    /// Remove every `target` attribute (links open in the host's own browsing context).
    #[default]
    Strip,
    /// Set `target="_blank"` on every `<a>` (always together with `rel="noopener noreferrer"`).
    Blank,
}

crate::core::json::from_json_unit_enum!(LinkTarget, {
    LinkTarget::Strip => "strip",
    LinkTarget::Blank => "blank",
});

/// The sanitizer configuration a host may pass (JSON, camelCase; unknown fields are errors).
///
/// Every field is optional; the empty object is the default policy.
///
/// ```
/// use plugin_warden::core::sanitize::{LinkTarget, SanitizerConfig};
/// let c = SanitizerConfig::from_json(
///     r#"{"allowElements":["details","summary"],"removeElements":["img"],
///         "allowAttributes":{"*":["class"],"img":["loading"]},
///         "allowDataImages":true,"linkTarget":"blank"}"#,
/// ).unwrap();
/// assert_eq!(c.link_target, LinkTarget::Blank);
/// assert!(SanitizerConfig::from_json(r#"{"allowStyle":true}"#).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SanitizerConfig {
    /// Elements to add to the default list; each must be in [`allowable_elements`].
    pub allow_elements: Vec<String>,
    /// Elements to remove from the list (applied after `allow_elements`; unknown names are
    /// ignored, since removing something never weakens the policy).
    pub remove_elements: Vec<String>,
    /// Attributes to add, keyed by element name, or `"*"` for every element; each must be in
    /// [`allowable_attributes`].
    pub allow_attributes: SortedMap<String, Vec<String>>,
    /// Keep `data:` URLs of raster image types in `<img src>`.
    pub allow_data_images: bool,
    /// What to do with `target` on links.
    pub link_target: LinkTarget,
    /// The most start tags an input may have (default [`DEFAULT_MAX_TAGS`], at most
    /// [`MAX_MAX_TAGS`]). html5ever's tree builder is quadratic in nesting depth (100 000 nested
    /// `<div>` take minutes), so the count bounds the time one call can freeze the host.
    pub max_tags: usize,
}

crate::core::json::from_json_struct!(SanitizerConfig, "struct SanitizerConfig", {
    allow_elements: "allowElements",
    remove_elements: "removeElements",
    allow_attributes: "allowAttributes",
    allow_data_images: "allowDataImages",
    link_target: "linkTarget",
    max_tags: "maxTags",
});

impl Default for SanitizerConfig {
    fn default() -> Self {
        SanitizerConfig {
            allow_elements: Vec::new(),
            remove_elements: Vec::new(),
            allow_attributes: SortedMap::new(),
            allow_data_images: false,
            link_target: LinkTarget::Strip,
            max_tags: DEFAULT_MAX_TAGS,
        }
    }
}

impl SanitizerConfig {
    /// Parse a configuration from JSON.
    ///
    /// # Errors
    /// [`SanitizeError::InvalidConfig`] (`INVALID_ARGUMENT`) when the JSON is malformed, has an
    /// unknown field or a field of the wrong type.
    ///
    /// ```
    /// use plugin_warden::core::sanitize::SanitizerConfig;
    /// assert_eq!(SanitizerConfig::from_json("{}").unwrap(), SanitizerConfig::default());
    /// assert!(SanitizerConfig::from_json(r#"{"linkTarget":"_top"}"#).is_err());
    /// ```
    pub fn from_json(json: &str) -> Result<Self, SanitizeError> {
        let invalid = |reason: String| SanitizeError::InvalidConfig { reason };
        let value = crate::core::json::parse_value(json).map_err(|e| invalid(e.to_string()))?;
        <Self as crate::core::json::FromJson>::from_json_value(value)
            .map_err(|e| invalid(e.to_string()))
    }
}

/// The attributes a [`Sanitizer`] keeps, for configuring other sanitizers alike (the benchmark
/// gives the same lists to DOMPurify and `Element.setHTML`).
///
/// Besides these, the sanitizer *sets* `rel` on every `<a>` (and `target` with
/// [`LinkTarget::Blank`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedAttributes {
    /// Attributes kept on every allowed element, sorted.
    pub generic: Vec<&'static str>,
    /// Prefixes of attribute names kept on every allowed element (`aria-`), sorted.
    pub generic_prefixes: Vec<&'static str>,
    /// Attributes kept on particular elements, sorted.
    pub elements: SortedMap<&'static str, Vec<&'static str>>,
}

/// A sanitizer built once from a policy and reused for every call.
///
/// # Security
/// The output is safe to insert into a document as HTML (it contains no script, no event
/// handler, no `javascript:` URL, nothing outside the allow-list), and sanitizing it again
/// yields the same string. It must still enter the DOM through the Trusted Types policy.
///
/// # Where the cleaning runs
/// The policy is decided here, in the core. The HTML itself is cleaned by a [`Cleaner`] that
/// the installed [`CleanerFactory`] builds from the policy's [`PolicySpec`]: ammonia
/// ([`AmmoniaFactory`], cargo feature `ammonia`, on by default) natively and in the browser's
/// separately loaded sanitizer module; the browser's core module has no ammonia and gets its
/// factory when that module loads (`host.preload('sanitizer')`). With no factory,
/// [`try_sanitize`](Self::try_sanitize) fails with `MODULE_NOT_LOADED` and
/// [`sanitize`](Self::sanitize) answers the empty string: never unsanitized HTML.
///
/// ```
/// use plugin_warden::core::sanitize::Sanitizer;
/// let s = Sanitizer::default();
/// assert_eq!(
///     s.sanitize(r#"<a href="https://a.example/" onclick="x()">hi</a><script>alert(1)</script>"#),
///     r#"<a href="https://a.example/" rel="noopener noreferrer">hi</a>"#,
/// );
/// assert_eq!(s.sanitize("<svg><a>x</a></svg><b>ok</b>"), "<b>ok</b>");
/// ```
pub struct Sanitizer {
    spec: PolicySpec,
    spec_json: String,
    elements: SortedSet<&'static str>,
    generic: SortedSet<&'static str>,
    generic_prefixes: SortedSet<&'static str>,
    element_attributes: SortedMap<&'static str, SortedSet<&'static str>>,
    urls: UrlRule,
    link_target: LinkTarget,
    max_tags: usize,
    /// Built on first use by the installed factory, then kept.
    cleaner: RefCell<Option<Rc<dyn Cleaner>>>,
}

impl fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sanitizer")
            .field("spec", &self.spec_json)
            .finish_non_exhaustive()
    }
}

/// Everything that decides a [`Sanitizer`]'s policy, in a form that crosses module
/// boundaries: the browser's core module sends it (as JSON, [`Sanitizer::spec_json`]) to the
/// sanitizer module, which rebuilds the same sanitizer with [`Sanitizer::from_spec`] and so
/// re-checks it against the allowable superset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    /// The host's configuration.
    pub config: SanitizerConfig,
    /// The asset origins of a remote-UI policy ([`Sanitizer::for_remote_ui`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ui: Option<Vec<String>>,
    /// The longest one clean may take, in milliseconds ([`Sanitizer::with_time_limit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_ms: Option<u32>,
}

/// Cleans HTML with one policy: the part of sanitizing that needs an HTML parser.
///
/// [`Sanitizer::try_sanitize`] has already checked the tag limit; `clean` does the rest of
/// [`Sanitizer::sanitize`]'s contract (parse, filter, serialize, and for remote UI re-clean until
/// stable). Implementations must never return input they did not clean.
pub trait Cleaner {
    /// The sanitized HTML.
    fn clean(&self, html: &str) -> String;

    /// [`clean`](Self::clean), told what [`Sanitizer::try_sanitize`]'s scan of the input
    /// found: `may_hold_pre` is false when no `<pre` start tag (any case) is in `html`, so no
    /// `<pre>` element can be in the output either (the only fix-up that needed to look).
    fn clean_scanned(&self, html: &str, may_hold_pre: bool) -> String {
        let _ = may_hold_pre;
        self.clean(html)
    }

    /// [`clean_scanned`](Self::clean_scanned) for a cleaner that can fail (the browser's, when
    /// a part of its module cannot be loaded): what [`Sanitizer::try_sanitize`] calls.
    ///
    /// # Errors
    /// [`SanitizeError::CleanerFailed`]; never for a cleaner compiled in.
    fn try_clean_scanned(&self, html: &str, may_hold_pre: bool) -> Result<String, SanitizeError> {
        Ok(self.clean_scanned(html, may_hold_pre))
    }

    /// The cleaned fragment as a tree to build the DOM from, where building it node by node
    /// gives the DOM that the browser's parse of [`clean_scanned`](Self::clean_scanned)'s text
    /// gives; `None` where it would not, or where this cleaner makes no trees: insert the text.
    #[cfg(feature = "ammonia")]
    fn clean_tree(&self, html: &str) -> Option<super::html_tree::HtmlTree> {
        let _ = html;
        None
    }
}

/// Builds the [`Cleaner`] for a sanitizer's policy.
pub trait CleanerFactory {
    /// The cleaner for `sanitizer`'s policy ([`Sanitizer::spec`]).
    ///
    /// # Errors
    /// Whatever stops the cleaner from being built (a module that failed, a refused spec).
    fn cleaner(&self, sanitizer: &Sanitizer) -> Result<Rc<dyn Cleaner>, SanitizeError>;
}

thread_local! {
    static FACTORY: RefCell<Option<Rc<dyn CleanerFactory>>> = const { RefCell::new(None) };
}

/// Install the factory every [`Sanitizer`] on this thread builds its cleaner with (the browser
/// layer does, when the sanitizer module has loaded); `None` goes back to the default
/// ([`AmmoniaFactory`] with the `ammonia` feature, none without). Sanitizers that already built
/// their cleaner keep it.
pub fn set_cleaner_factory(factory: Option<Rc<dyn CleanerFactory>>) {
    FACTORY.with(|f| *f.borrow_mut() = factory);
}

/// Whether sanitizers can clean now: a factory is installed or compiled in.
pub fn cleaner_available() -> bool {
    FACTORY.with(|f| f.borrow().is_some()) || default_factory().is_some()
}

fn default_factory() -> Option<Rc<dyn CleanerFactory>> {
    #[cfg(feature = "ammonia")]
    {
        Some(Rc::new(AmmoniaFactory))
    }
    #[cfg(not(feature = "ammonia"))]
    {
        None
    }
}

/// Which URLs survive in URL-bearing attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum UrlRule {
    /// `http`, `https`, `mailto`, `tel` and relative URLs; raster `data:` images in `<img src>`
    /// when `data_images`.
    Default {
        /// [`SanitizerConfig::allow_data_images`].
        data_images: bool,
    },
    /// Only absolute `http(s):` URLs into these origins (remote UI).
    Origins(Vec<String>),
}

impl Default for Sanitizer {
    /// The default policy (see the [module docs](self)).
    fn default() -> Self {
        Sanitizer::new(&SanitizerConfig::default())
            .expect("invariant: the default configuration is within the allowable superset")
    }
}

impl Sanitizer {
    /// Build a sanitizer from a host configuration.
    ///
    /// # Errors
    /// [`SanitizeError`] (`INVALID_ARGUMENT`) naming the first element or attribute outside
    /// the allowable superset — e.g. `svg`, `math`, `style`, `script`, `iframe`, `form`, an
    /// `on*` handler or the `style` attribute.
    ///
    /// # Security
    /// No configuration can put SVG, MathML, a raw-text element or an event handler on the
    /// allow-list; the superset is fixed at compile time.
    ///
    /// ```
    /// use plugin_warden::core::error::{Coded, ErrorCode};
    /// use plugin_warden::core::sanitize::{Sanitizer, SanitizerConfig};
    /// let mut config = SanitizerConfig::default();
    /// config.allow_elements = vec!["details".into(), "summary".into()];
    /// let s = Sanitizer::new(&config).unwrap();
    /// assert_eq!(s.sanitize("<details><summary>a</summary>b</details>"),
    ///            "<details><summary>a</summary>b</details>");
    ///
    /// config.allow_elements = vec!["svg".into()];
    /// let err = Sanitizer::new(&config).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::InvalidArgument);
    /// assert!(err.to_string().contains("\"svg\""));
    /// ```
    pub fn new(config: &SanitizerConfig) -> Result<Sanitizer, SanitizeError> {
        if !(1..=MAX_MAX_TAGS).contains(&config.max_tags) {
            return Err(SanitizeError::LimitOutOfRange {
                found: config.max_tags,
                max: MAX_MAX_TAGS,
            });
        }
        let mut elements: SortedSet<&'static str> = DEFAULT_ELEMENTS.iter().copied().collect();
        for name in &config.allow_elements {
            elements.insert(allowable_element(name)?);
        }
        for name in &config.remove_elements {
            let lower = name.to_ascii_lowercase();
            elements.retain(|e| *e != lower);
        }

        let mut generic: SortedSet<&'static str> =
            DEFAULT_GENERIC_ATTRIBUTES.iter().copied().collect();
        let mut generic_prefixes = SortedSet::new();
        let mut element_attributes: SortedMap<&'static str, SortedSet<&'static str>> =
            SortedMap::new();
        for &(e, attrs) in DEFAULT_ELEMENT_ATTRIBUTES {
            element_attributes
                .entry(e)
                .or_default()
                .extend(attrs.iter().copied());
        }
        for (element, attrs) in &config.allow_attributes {
            if element == "*" {
                for attr in attrs {
                    match allowable_generic_attribute(attr) {
                        Some(a) => match a.strip_suffix('*') {
                            Some(prefix) => generic_prefixes.insert(prefix),
                            None => generic.insert(a),
                        },
                        None => return Err(attribute_error(element, attr)),
                    };
                }
            } else {
                let e = allowable_element(element)?;
                for attr in attrs {
                    let a = allowable_element_attribute(e, attr)
                        .ok_or_else(|| attribute_error(element, attr))?;
                    element_attributes.entry(e).or_default().insert(a);
                }
            }
        }
        Ok(Sanitizer::from_parts(
            PolicySpec {
                config: config.clone(),
                remote_ui: None,
                time_limit_ms: None,
            },
            elements,
            generic,
            generic_prefixes,
            element_attributes,
            UrlRule::Default {
                data_images: config.allow_data_images,
            },
        ))
    }

    /// Rebuild a sanitizer from its [`PolicySpec`] (what the sanitizer module does with the
    /// spec the core module sends it).
    ///
    /// # Errors
    /// As [`Sanitizer::new`].
    ///
    /// ```
    /// use plugin_warden::core::sanitize::{PolicySpec, Sanitizer};
    /// let ui = Sanitizer::default().for_remote_ui(&["https://cdn.example".to_owned()]);
    /// let again = Sanitizer::from_spec_json(ui.spec_json()).unwrap();
    /// assert_eq!(again.spec(), ui.spec());
    /// assert_eq!(again.allowed_elements(), ui.allowed_elements());
    /// assert!(Sanitizer::from_spec_json(r#"{"config":{"allowElements":["svg"]}}"#).is_err());
    /// ```
    pub fn from_spec(spec: &PolicySpec) -> Result<Sanitizer, SanitizeError> {
        let s = Sanitizer::new(&spec.config)?;
        let s = match &spec.remote_ui {
            Some(origins) => s.for_remote_ui(origins),
            None => s,
        };
        match spec.time_limit_ms {
            Some(ms) => s.with_time_limit(ms),
            None => Ok(s),
        }
    }

    /// [`Sanitizer::from_spec`] from its JSON form ([`Sanitizer::spec_json`]).
    ///
    /// # Errors
    /// [`SanitizeError::InvalidConfig`] for JSON that is not a spec; otherwise as
    /// [`Sanitizer::new`].
    pub fn from_spec_json(json: &str) -> Result<Sanitizer, SanitizeError> {
        // serde_json's typed reader, not a `FromJson` as in the core: this runs in the
        // sanitizer module, which links float formatting anyway (through its own
        // dependencies), and there a hand reader measured 701 bytes gzip larger.
        let spec: PolicySpec =
            serde_json::from_str(json).map_err(|e| SanitizeError::InvalidConfig {
                reason: e.to_string(),
            })?;
        Sanitizer::from_spec(&spec)
    }

    /// What decides this sanitizer's policy.
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// [`Sanitizer::spec`] as JSON (made once, when the sanitizer is built).
    pub fn spec_json(&self) -> &str {
        &self.spec_json
    }

    /// The remote-UI policy derived from this one (see the [module docs](self#remote-ui)):
    /// this allow-list plus form controls, `data-action`, and `name`/`value` on controls;
    /// every URL-bearing attribute kept only when [`url_attribute_allowed`] says so for
    /// `origins` (normalized origins such as [`Manifest::assets`] returns); `autocomplete="off"`
    /// on every `form` and `input`; never `data:` images.
    ///
    /// [`Manifest::assets`]: super::manifest::Manifest::assets
    ///
    /// # Security
    /// The HTML goes into a closed shadow root of the host page, so every URL it keeps is
    /// fetched by the host page: only the plugin's declared asset origins may be named.
    /// Submits never navigate (the browser layer prevents them); a link into an asset origin
    /// still navigates when clicked, like any link.
    ///
    /// ```
    /// use plugin_warden::core::sanitize::Sanitizer;
    /// let ui = Sanitizer::default().for_remote_ui(&["https://cdn.example".to_owned()]);
    /// assert_eq!(
    ///     ui.sanitize(r#"<img src="https://cdn.example/a.png"><img src="https://evil.example/b.png"><img src="/c.png">"#),
    ///     r#"<img src="https://cdn.example/a.png"><img><img>"#,
    /// );
    /// assert_eq!(
    ///     ui.sanitize(r#"<form action="https://evil.example/"><input name="q" type="password" data-action="search"></form>"#),
    ///     r#"<form autocomplete="off"><input name="q" autocomplete="off" data-action="search"></form>"#,
    /// );
    /// ```
    pub fn for_remote_ui(&self, origins: &[String]) -> Sanitizer {
        let mut elements = self.elements.clone();
        elements.extend(REMOTE_UI_ELEMENTS.iter().copied());
        let mut generic = self.generic.clone();
        generic.extend(REMOTE_UI_GENERIC_ATTRIBUTES.iter().copied());
        let mut element_attributes = self.element_attributes.clone();
        for &(e, attrs) in REMOTE_UI_ELEMENT_ATTRIBUTES {
            element_attributes
                .entry(e)
                .or_default()
                .extend(attrs.iter().copied());
        }
        Sanitizer::from_parts(
            PolicySpec {
                config: self.spec.config.clone(),
                remote_ui: Some(origins.to_vec()),
                time_limit_ms: self.spec.time_limit_ms,
            },
            elements,
            generic,
            self.generic_prefixes.clone(),
            element_attributes,
            UrlRule::Origins(origins.to_vec()),
        )
    }

    /// This policy, with each clean stopped once it has taken `limit_ms` milliseconds: it then
    /// fails with [`SanitizeError::TimeLimit`] (`TIMEOUT`) and gives nothing. The engine gives
    /// a remote UI's policy one (`limits.renderCleanMs`): its HTML comes from a plugin and is
    /// cleaned on the host page's main thread, and html5ever parses deep nesting in quadratic
    /// time (64 KiB of nested `<ul><li>` take about half a second in wasm).
    ///
    /// The clock is [`set_clean_clock`]'s (natively, the process's monotonic clock); the
    /// parser is fed the input in pieces of [`TIME_LIMIT_CHUNK`] bytes, and the time is read
    /// before each, so a clean stops at most one piece's parse after its limit. Its output,
    /// when it finishes, is the same as without the limit.
    ///
    /// # Errors
    /// [`SanitizeError::TimeLimitOutOfRange`] outside `1..=`[`MAX_TIME_LIMIT_MS`].
    ///
    /// ```
    /// use plugin_warden::core::sanitize::Sanitizer;
    /// let s = Sanitizer::default().with_time_limit(100).unwrap();
    /// assert_eq!(s.try_sanitize("<b onclick=x>hi</b>").unwrap(), "<b>hi</b>");
    /// assert!(Sanitizer::default().with_time_limit(0).is_err());
    /// ```
    pub fn with_time_limit(&self, limit_ms: u32) -> Result<Sanitizer, SanitizeError> {
        if !(1..=MAX_TIME_LIMIT_MS).contains(&limit_ms) {
            return Err(SanitizeError::TimeLimitOutOfRange { found: limit_ms });
        }
        Ok(Sanitizer::from_parts(
            PolicySpec {
                time_limit_ms: Some(limit_ms),
                ..self.spec.clone()
            },
            self.elements.clone(),
            self.generic.clone(),
            self.generic_prefixes.clone(),
            self.element_attributes.clone(),
            self.urls.clone(),
        ))
    }

    /// The time limit of each clean, if any ([`with_time_limit`](Self::with_time_limit)).
    pub fn time_limit_ms(&self) -> Option<u32> {
        self.spec.time_limit_ms
    }

    fn from_parts(
        spec: PolicySpec,
        elements: SortedSet<&'static str>,
        generic: SortedSet<&'static str>,
        generic_prefixes: SortedSet<&'static str>,
        element_attributes: SortedMap<&'static str, SortedSet<&'static str>>,
        urls: UrlRule,
    ) -> Sanitizer {
        let spec_json =
            serde_json::to_string(&spec).expect("invariant: a PolicySpec always serializes");
        Sanitizer {
            link_target: spec.config.link_target,
            max_tags: spec.config.max_tags,
            spec,
            spec_json,
            elements,
            generic,
            generic_prefixes,
            element_attributes,
            urls,
            cleaner: RefCell::new(None),
        }
    }

    /// Sanitize an HTML fragment (parsed as the content of a `<div>`).
    ///
    /// Never fails: anything not allowed is dropped (script-like and foreign elements with their
    /// content, other elements unwrapped to their children); input over the tag limit, or with
    /// no cleaner available ([`cleaner_available`]), gives the empty string.
    ///
    /// # Security
    /// Idempotent: `sanitize(sanitize(x)) == sanitize(x)`, so a re-parse by the browser sees the
    /// same tree (the mutation-XSS check). Insert the result through Trusted Types.
    ///
    /// ```
    /// use plugin_warden::core::sanitize::Sanitizer;
    /// let s = Sanitizer::default();
    /// assert_eq!(s.sanitize(r#"<img src=x onerror="alert(1)">"#), r#"<img src="x">"#);
    /// assert_eq!(s.sanitize(r#"<a href="java&#09;script:alert(1)">x</a>"#),
    ///            r#"<a rel="noopener noreferrer">x</a>"#);
    /// ```
    pub fn sanitize(&self, html: &str) -> String {
        self.try_sanitize(html).unwrap_or_default()
    }

    /// Like [`sanitize`](Self::sanitize), but says why an input was refused instead of
    /// returning an empty string.
    ///
    /// # Errors
    /// - [`SanitizeError::TooManyTags`] (`MESSAGE_REJECTED`) when the input has more start tags
    ///   than [`SanitizerConfig::max_tags`]; the input is not parsed at all.
    /// - [`SanitizeError::NotLoaded`] (`MODULE_NOT_LOADED`) when no cleaner is available.
    ///
    /// # Security
    /// The tag count is a linear pre-scan; it bounds the parser's worst case (deep nesting is
    /// quadratic in html5ever), so one plugin cannot freeze the host with one message.
    ///
    /// ```
    /// use plugin_warden::core::error::{Coded, ErrorCode};
    /// use plugin_warden::core::sanitize::{Sanitizer, SanitizerConfig};
    /// let mut config = SanitizerConfig::default();
    /// config.max_tags = 3;
    /// let s = Sanitizer::new(&config).unwrap();
    /// assert_eq!(s.try_sanitize("<b>1</b><i>2</i>").unwrap(), "<b>1</b><i>2</i>");
    /// let err = s.try_sanitize("<div><div><div><div>").unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::MessageRejected);
    /// assert_eq!(s.sanitize("<div><div><div><div>"), "");
    /// ```
    pub fn try_sanitize(&self, html: &str) -> Result<String, SanitizeError> {
        let scan = scan_start_tags(html);
        if scan.count > self.max_tags {
            return Err(SanitizeError::TooManyTags {
                limit: self.max_tags,
                found: scan.count,
            });
        }
        self.cleaner()?.try_clean_scanned(html, scan.pre)
    }

    /// Like [`try_sanitize`](Self::try_sanitize), as a tree to build the DOM from node by node
    /// (`host.setHTML`): no second parse, so nothing can parse differently from what was
    /// checked. `Ok(None)` where the tree as it is would not be the DOM the browser builds from
    /// the text (a nesting the HTML parser repairs, which the text path cleans again until it
    /// is stable; a remote-UI policy): insert [`try_sanitize`](Self::try_sanitize)'s text then.
    ///
    /// # Errors
    /// As [`try_sanitize`](Self::try_sanitize).
    ///
    /// ```
    /// use plugin_warden::core::html_tree::HtmlTree;
    /// use plugin_warden::core::sanitize::Sanitizer;
    /// let s = Sanitizer::default();
    /// let tree = s.try_sanitize_tree(r#"<b onclick="x()">hi</b>"#).unwrap().unwrap();
    /// assert_eq!(tree.text(), "hib");
    /// // The names table (one name, "b" at 2..3), then <b>, "hi", </b>.
    /// assert_eq!(tree.ops(), &[1, 2, 3, HtmlTree::OPEN, 0, 0, HtmlTree::TEXT, 0, 2, HtmlTree::CLOSE]);
    /// // The parser would move the <div> out of the <p>: insert the text instead.
    /// assert!(s.try_sanitize_tree("<p><button><div>x</div></button></p>").unwrap().is_none());
    /// ```
    #[cfg(feature = "ammonia")]
    pub fn try_sanitize_tree(
        &self,
        html: &str,
    ) -> Result<Option<super::html_tree::HtmlTree>, SanitizeError> {
        let scan = scan_start_tags(html);
        if scan.count > self.max_tags {
            return Err(SanitizeError::TooManyTags {
                limit: self.max_tags,
                found: scan.count,
            });
        }
        Ok(self.cleaner()?.clean_tree(html))
    }

    /// This sanitizer's cleaner, built by the installed factory on first use.
    ///
    /// # Errors
    /// [`SanitizeError::NotLoaded`] when there is no factory; the factory's own errors.
    pub fn cleaner(&self) -> Result<Rc<dyn Cleaner>, SanitizeError> {
        if let Some(c) = self.cleaner.borrow().as_ref() {
            return Ok(c.clone());
        }
        let factory = FACTORY
            .with(|f| f.borrow().clone())
            .or_else(default_factory)
            .ok_or(SanitizeError::NotLoaded)?;
        let c = factory.cleaner(self)?;
        *self.cleaner.borrow_mut() = Some(c.clone());
        Ok(c)
    }

    /// The elements this sanitizer keeps, sorted.
    ///
    /// ```
    /// use plugin_warden::core::sanitize::Sanitizer;
    /// let elements = Sanitizer::default().allowed_elements();
    /// assert!(elements.contains(&"a") && elements.contains(&"img"));
    /// assert!(!elements.contains(&"svg") && !elements.contains(&"form"));
    /// ```
    pub fn allowed_elements(&self) -> Vec<&'static str> {
        self.elements.iter().copied().collect()
    }

    /// The attributes this sanitizer keeps (per-element entries only for allowed elements).
    ///
    /// ```
    /// use plugin_warden::core::sanitize::Sanitizer;
    /// let attrs = Sanitizer::default().allowed_attributes();
    /// assert_eq!(attrs.generic, vec!["dir", "lang", "title"]);
    /// assert_eq!(attrs.elements["a"], vec!["href", "hreflang", "type"]);
    /// ```
    pub fn allowed_attributes(&self) -> AllowedAttributes {
        AllowedAttributes {
            generic: self.generic.iter().copied().collect(),
            generic_prefixes: self.generic_prefixes.iter().copied().collect(),
            elements: self
                .element_attributes
                .iter()
                .filter(|(e, _)| self.elements.contains(*e))
                .map(|(e, a)| (*e, a.iter().copied().collect()))
                .collect(),
        }
    }

    /// Whether `data:` raster images are kept in `<img src>`.
    pub fn allows_data_images(&self) -> bool {
        self.urls == UrlRule::Default { data_images: true }
    }

    /// The asset origins a remote-UI sanitizer keeps URLs into; `None` for other policies.
    ///
    /// ```
    /// use plugin_warden::core::sanitize::Sanitizer;
    /// assert_eq!(Sanitizer::default().url_origins(), None);
    /// let ui = Sanitizer::default().for_remote_ui(&["https://cdn.example".to_owned()]);
    /// assert_eq!(ui.url_origins(), Some(&["https://cdn.example".to_owned()][..]));
    /// ```
    pub fn url_origins(&self) -> Option<&[String]> {
        match &self.urls {
            UrlRule::Origins(o) => Some(o),
            UrlRule::Default { .. } => None,
        }
    }

    /// What the sanitizer does with link targets.
    pub fn link_target(&self) -> LinkTarget {
        self.link_target
    }
}

/// Builds [`AmmoniaCleaner`]s: the default factory with the `ammonia` feature.
#[cfg(feature = "ammonia")]
#[derive(Clone, Copy, Debug, Default)]
pub struct AmmoniaFactory;

#[cfg(feature = "ammonia")]
impl CleanerFactory for AmmoniaFactory {
    fn cleaner(&self, sanitizer: &Sanitizer) -> Result<Rc<dyn Cleaner>, SanitizeError> {
        Ok(Rc::new(AmmoniaCleaner::new(sanitizer)))
    }
}

/// A sanitizer's policy as an ammonia builder.
#[cfg(feature = "ammonia")]
pub struct AmmoniaCleaner {
    builder: ammonia::Builder<'static>,
    /// `<pre>` is allowed: its leading newline needs the fix-up.
    pre: bool,
    /// A remote-UI policy: re-clean until stable.
    remote_ui: bool,
    /// [`Sanitizer::with_time_limit`].
    time_limit_ms: Option<u32>,
    /// `<a>` is allowed and gets both `rel` and `target` set ([`link_attributes_in_order`]).
    links_set_two: bool,
}

#[cfg(feature = "ammonia")]
impl AmmoniaCleaner {
    /// The builder for `s`'s policy.
    pub fn new(s: &Sanitizer) -> AmmoniaCleaner {
        let elements = &s.elements;
        let mut builder = ammonia::Builder::empty();
        let mut tag_attributes: HashMap<&'static str, HashSet<&'static str>> = s
            .element_attributes
            .iter()
            .filter(|(e, _)| elements.contains(*e))
            .map(|(e, a)| (*e, a.iter().copied().collect()))
            .collect();
        // `rel` (and `target`) are *set* on every `<a>`, in place when present. They are also
        // kept from the input (and then overwritten) rather than stripped and appended again:
        // ammonia's attribute filter removes with `swap_remove`, and re-appending on a second
        // pass would reorder attributes and break idempotence. (`Builder::link_rel` appends.)
        let mut set_values: HashMap<&'static str, &'static str> = HashMap::new();
        set_values.insert("rel", LINK_REL);
        if s.link_target == LinkTarget::Blank {
            set_values.insert("target", "_blank");
        }
        if elements.contains("a") {
            tag_attributes
                .entry("a")
                .or_default()
                .extend(set_values.keys().copied());
        }
        let mut set_tag_values = HashMap::from([("a", set_values)]);
        let mut schemes: HashSet<&'static str> = URL_SCHEMES.iter().copied().collect();
        match &s.urls {
            UrlRule::Default { data_images: true } => {
                // Narrowed to `<img src>` and raster types by the attribute filter below.
                schemes.insert("data");
            }
            UrlRule::Default { data_images: false } => {}
            UrlRule::Origins(_) => {
                // Narrowed to the origins by the attribute filter below.
                schemes = HashSet::from(["http", "https"]);
                for e in ["form", "input"] {
                    if elements.contains(e) {
                        tag_attributes.entry(e).or_default().insert("autocomplete");
                        set_tag_values.insert(e, HashMap::from([("autocomplete", "off")]));
                    }
                }
            }
        }
        builder
            .tags(elements.iter().copied().collect())
            .clean_content_tags(CLEAN_CONTENT_ELEMENTS.iter().copied().collect())
            .generic_attributes(s.generic.iter().copied().collect())
            .generic_attribute_prefixes(s.generic_prefixes.iter().copied().collect())
            .tag_attributes(tag_attributes)
            .tag_attribute_values(HashMap::new())
            .set_tag_attribute_values(set_tag_values)
            .allowed_classes(HashMap::new())
            .url_schemes(schemes)
            .url_relative(ammonia::UrlRelative::PassThrough)
            .link_rel(None)
            .strip_comments(true)
            .id_prefix(Some(ID_PREFIX))
            .attribute_filter({
                let urls = s.urls.clone();
                move |element: &str, attribute: &str, value: &str| {
                    filter_attribute(&urls, element, attribute, value)
                }
            });
        AmmoniaCleaner {
            builder,
            pre: elements.contains("pre"),
            remote_ui: matches!(s.urls, UrlRule::Origins(_)),
            time_limit_ms: s.spec.time_limit_ms,
            links_set_two: elements.contains("a") && s.link_target == LinkTarget::Blank,
        }
    }

    /// ammonia's cleaned tree of `html`, for both paths (text and tree): kept out of line, so
    /// that the module holds one copy of ammonia's parse and clean whatever LLVM inlines.
    #[inline(never)]
    fn document(&self, html: &str) -> ammonia::Document {
        let doc = self.builder.clean(html);
        if self.links_set_two {
            link_attributes_in_order(&doc);
        }
        doc
    }

    /// [`document`](Self::document) by `deadline` (the clock, the time), or the time limit's
    /// error.
    fn document_by(
        &self,
        html: &str,
        deadline: Option<(fn() -> f64, f64)>,
    ) -> Result<ammonia::Document, SanitizeError> {
        match (deadline, self.time_limit_ms) {
            (Some((clock, deadline)), Some(limit_ms)) => {
                self.document_paced(html, clock, deadline, limit_ms)
            }
            _ => Ok(self.document(html)),
        }
    }

    /// [`document`](Self::document), the input fed to the parser piece by piece
    /// (`plugin_warden_paced::clean_by`, a crate built at opt-level 3: see its docs).
    /// A function of its own, never inlined: the sanitizer module's split
    /// (scripts/split-module.mjs) leaves it, and the parser instance it brings, out of the part
    /// every host's first sanitize loads (a remote UI's render loads the rest).
    #[inline(never)]
    #[cold]
    fn document_paced(
        &self,
        html: &str,
        clock: fn() -> f64,
        deadline: f64,
        limit_ms: u32,
    ) -> Result<ammonia::Document, SanitizeError> {
        let doc =
            plugin_warden_paced::clean_by(&self.builder, html, TIME_LIMIT_CHUNK, clock, deadline)
                .map_err(|_| SanitizeError::TimeLimit { limit_ms })?;
        if self.links_set_two {
            link_attributes_in_order(&doc);
        }
        Ok(doc)
    }

    /// The clock and the time by which a clean starting now must end, for a policy with a
    /// time limit (and a clock to measure it): its own limit from now, or [`cleans_ending_by`]'s
    /// deadline if that is earlier.
    fn deadline(&self) -> Option<(fn() -> f64, f64)> {
        let limit = self.time_limit_ms?;
        let clock = clean_clock()?;
        let own = clock() + f64::from(limit);
        Some((
            clock,
            clean_deadline()
                .filter(|&shared| shared < own)
                .unwrap_or(own),
        ))
    }

    /// One pass of ammonia; `pre`: whether a `<pre>` element may be in the output. Written
    /// out by [`super::html_text`] (html5ever's serializer, which ammonia's `to_string` uses,
    /// is quadratic in the `&` and U+00A0 of a text or attribute value).
    fn clean_once(
        &self,
        html: &str,
        pre: bool,
        deadline: Option<(fn() -> f64, f64)>,
    ) -> Result<String, SanitizeError> {
        let mut out = super::html_text::html_text(&self.document_by(html, deadline)?);
        if out.contains('\r') {
            // A carriage return reaches the tree only from a character reference (`&#13;`: the
            // parser turns raw CRs into LFs), and the serializer writes it raw, so the next
            // parse would read an LF: write the reference back.
            out = out.replace('\r', "&#13;");
        }
        Ok(if pre {
            double_leading_newline_in_pre(out)
        } else {
            out
        })
    }
}

#[cfg(feature = "ammonia")]
impl Cleaner for AmmoniaCleaner {
    fn clean(&self, html: &str) -> String {
        self.clean_scanned(html, true)
    }

    /// Nothing (never the input) when the clean took longer than the policy's time limit:
    /// [`Cleaner::try_clean_scanned`] says so.
    fn clean_scanned(&self, html: &str, may_hold_pre: bool) -> String {
        self.try_clean_scanned(html, may_hold_pre)
            .unwrap_or_default()
    }

    fn try_clean_scanned(&self, html: &str, may_hold_pre: bool) -> Result<String, SanitizeError> {
        // One deadline for every pass.
        let deadline = self.deadline();
        // The output's `<pre>` elements come from the input's `<pre` start tags (a pass over
        // the output keeps this: its elements are the input's), so without one in the input
        // there is nothing to fix up, and no need to search the output for one.
        let pre = self.pre && may_hold_pre;
        let mut out = self.clean_once(html, pre, deadline)?;
        // A cleaned tree can hold nestings the HTML parser never builds: the parser's own
        // repairs (an `<a>` foster-parented out of a table into another `<a>`), or children
        // kept from a removed element (`<p><button><details>` becomes `<p><details>`). The
        // serializer writes them as they are, and the browser's parse of that text rebuilds a
        // different tree (`<p></p><details>`) than the one that was checked. Form controls
        // add more such quirks, so a remote UI always takes the second pass. Clean again
        // until the text parses back to itself: the browser's parse is then the checked tree.
        if self.remote_ui || may_reparse_differently(&out) {
            for _ in 0..MAX_EXTRA_PASSES {
                let again = self.clean_once(&out, pre, deadline)?;
                if again == out {
                    break;
                }
                out = again;
            }
        }
        Ok(out)
    }

    fn clean_tree(&self, html: &str) -> Option<super::html_tree::HtmlTree> {
        // A time-limited policy cleans on the text path, which keeps to the limit.
        if self.remote_ui || self.time_limit_ms.is_some() {
            return None;
        }
        tree_of(&self.document(html).to_dom_node())
    }
}

/// Every `<a>` of `doc` with its `rel` before its `target`: the order in which ammonia appends
/// the attributes it sets is a `HashMap`'s, which differs from one map to the next (its hash
/// keys are per instance, in wasm too), so two sanitizers of one policy, or the CLI and the
/// browser, wrote `<a target="_blank" rel="…">` or `<a rel="…" target="_blank">` for the same
/// input. The two trade places, so the others keep theirs; a second pass finds both in place
/// (ammonia then sets them where they are) and changes nothing.
#[cfg(feature = "ammonia")]
fn link_attributes_in_order(doc: &ammonia::Document) {
    use ammonia::rcdom::NodeData;
    let mut stack = vec![doc.to_dom_node()];
    while let Some(node) = stack.pop() {
        if let NodeData::Element { name, attrs, .. } = &node.data {
            if &*name.local == "a" {
                let mut attrs = attrs.borrow_mut();
                let at = |n: &str| attrs.iter().position(|a| &*a.name.local == n);
                if let (Some(rel), Some(target)) = (at("rel"), at("target")) {
                    if target < rel {
                        attrs.swap(target, rel);
                    }
                }
            }
        }
        stack.extend(node.children.borrow().iter().cloned());
    }
}

/// The fragment under `root` (ammonia's cleaned tree) as an [`HtmlTree`], or `None` where the
/// browser's parse of its serialization would build another tree ([`Nesting`]: the text path
/// then cleans again until stable), or it holds anything but HTML elements and text.
#[cfg(feature = "ammonia")]
fn tree_of(root: &ammonia::rcdom::Handle) -> Option<super::html_tree::HtmlTree> {
    use ammonia::rcdom::NodeData;
    let mut out = super::html_tree::TreeWriter::default();
    let mut nesting = Nesting::default();
    // Each open element with the index of its next child: no recursion, however deep.
    let mut open = vec![(root.clone(), 0usize)];
    while let Some((node, next)) = open.last_mut() {
        let child = node.children.borrow().get(*next).cloned();
        *next += 1;
        let Some(child) = child else {
            open.pop();
            if !open.is_empty() {
                nesting.close();
                out.close();
            }
            continue;
        };
        match &child.data {
            NodeData::Text { contents } => {
                let text = contents.borrow();
                if nesting.text(&text) {
                    return None;
                }
                out.text(&text);
            }
            NodeData::Element { name, attrs, .. } => {
                if name.ns != html5ever::ns!(html) || nesting.open(&name.local) {
                    return None;
                }
                let attrs = attrs.borrow();
                if attrs.iter().any(|a| !a.name.ns.is_empty()) {
                    return None;
                }
                out.open(
                    &name.local,
                    attrs.iter().map(|a| (&a.name.local, a.value.as_ref())),
                );
                open.push((child.clone(), 0));
            }
            // Comments are stripped; nothing else is in a cleaned fragment.
            _ => return None,
        }
    }
    Some(out.finish())
}

/// Whether parsing `out` (html5ever's serialization of a cleaned tree) could build a different
/// tree: an element where the HTML parser's "in body" and table rules would not put it. False
/// positives only cost a second pass, so where the parser's rules are subtle this errs towards
/// true; a false negative would leave the output not idempotent, which the property tests in
/// `tests/sanitize.rs` look for.
///
/// Sound on serializer output of the allowable elements only: every `<` starts a tag (text and
/// attribute values are escaped), tags are well nested, and no raw-text or foreign element
/// (`style`, `svg`, …: clean-content elements) can be in it.
#[cfg(feature = "ammonia")]
fn may_reparse_differently(out: &str) -> bool {
    let mut nesting = Nesting::default();
    // The open elements' names, to see that the end tags match.
    let mut names: Vec<&str> = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let text_end = rest.find('<').unwrap_or(rest.len());
        let (text, tail) = rest.split_at(text_end);
        if nesting.text(text) {
            return true;
        }
        if tail.is_empty() {
            break;
        }
        let Some(close) = tail.find('>') else {
            return true;
        };
        let tag = &tail[1..close];
        rest = &tail[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if names.pop() != Some(name) {
                return true; // not well nested: not serializer output
            }
            nesting.close();
            continue;
        }
        if tag.starts_with('!') {
            continue; // a comment or doctype (comments are stripped; be lenient)
        }
        let name = tag.split([' ', '/']).next().unwrap_or("");
        if nesting.open(name) {
            return true;
        }
        if tag_bits::tag_bits(name) & tag_bits::VOID == 0 {
            names.push(name);
        } else {
            nesting.close();
        }
    }
    !names.is_empty()
}

/// The HTML parser's "in body" and table rules that matter to a cleaned tree, as a machine fed
/// the tree's nodes in document order: whether the parser, reading the tree's serialization,
/// would put a node where it is not ([`may_reparse_differently`] on the text, [`tree_of`] on
/// the tree itself: one set of rules for both). False positives only cost a second pass (or
/// the text path), so where the parser's rules are subtle this errs towards true.
#[cfg(feature = "ammonia")]
#[derive(Debug, Default)]
struct Nesting {
    /// The open elements' bits (classified once, when each opens), innermost last.
    open: Vec<u32>,
}

#[cfg(feature = "ammonia")]
impl Nesting {
    /// Walks the open elements from the innermost: does one with a `hit` bit come before one
    /// with a `stop` bit?
    fn open_before(&self, hit: u32, stop: u32) -> bool {
        for &bits in self.open.iter().rev() {
            if bits & hit != 0 {
                return true;
            }
            if bits & stop != 0 {
                return false;
            }
        }
        false
    }

    /// Text in the innermost open element: true where the parser would move it (out of a
    /// table, before it).
    fn text(&self, text: &str) -> bool {
        use tag_bits::*;
        let in_table_rows = self.open.last().is_some_and(|&b| b & TABLE_ROWS != 0);
        in_table_rows && text.bytes().any(|b| !b.is_ascii_whitespace())
    }

    /// Element `name` opens in the innermost open element (and is open until [`close`]):
    /// true where the parser would put it elsewhere.
    ///
    /// [`close`]: Self::close
    fn open(&mut self, name: &str) -> bool {
        use tag_bits::*;
        let bits = tag_bits(name);
        let parent = self.open.last().copied().unwrap_or(0);
        // Whether `bits` is where the table rules put it, given its parent's bits.
        let table_ok = if parent & IS_TABLE != 0 {
            bits & IN_TABLE != 0
        } else if parent & IS_SECTION != 0 {
            bits & IN_SECTION != 0
        } else if parent & IS_TR != 0 {
            bits & IN_TR != 0
        } else if parent & IS_COLGROUP != 0 {
            bits & IN_COLGROUP != 0
        } else {
            bits & TABLE_PART == 0
        };
        let reparses = (bits & A != 0 && self.open_before(A, SCOPE))
            || (bits & CLOSES_P != 0 && self.open_before(P, P_STOP))
            || (bits & FORM != 0 && self.open.iter().any(|&b| b & FORM != 0))
            || (bits & HEADING != 0 && parent & HEADING != 0)
            || (bits & LI != 0 && self.open_before(LI, SPECIAL))
            || (bits & DD_DT != 0 && self.open_before(DD_DT, SPECIAL))
            || (bits & BUTTON != 0 && self.open_before(BUTTON, SCOPE))
            || (bits & RUBY != 0 && self.open.iter().any(|&b| b & RUBY != 0))
            || !table_ok;
        self.open.push(bits);
        reparses
    }

    /// The innermost open element ends.
    fn close(&mut self) {
        self.open.pop();
    }
}

/// What [`may_reparse_differently`] needs to know of an element, as bits of one `u32`: the
/// open elements are walked per start tag, and a bit test there is what keeps that walk cheap
/// on whole pages (comparing names against lists was ~4 % of a page's clean).
#[cfg(feature = "ammonia")]
mod tag_bits {
    /// A void element: never on the stack of open elements.
    pub const VOID: u32 = 1;
    /// Its start tag closes an open `<p>` (in button scope).
    pub const CLOSES_P: u32 = 1 << 1;
    /// The parser's "special" elements among the allowable ones but `address`, `div` and `p`:
    /// they end the search for an open `li`/`dd`/`dt`.
    pub const SPECIAL: u32 = 1 << 2;
    /// The boundaries of "in scope" (`caption`, `table`, `td`, `th`).
    pub const SCOPE: u32 = 1 << 3;
    /// The boundaries of "in button scope" (`button` and [`SCOPE`]'s).
    pub const P_STOP: u32 = 1 << 4;
    /// `h1`…`h6`.
    pub const HEADING: u32 = 1 << 5;
    /// `rb`, `rp`, `rt`, `rtc`.
    pub const RUBY: u32 = 1 << 6;
    /// Text directly in it is foster-parented out of the table.
    pub const TABLE_ROWS: u32 = 1 << 7;
    /// Belongs only where the table rules put it.
    pub const TABLE_PART: u32 = 1 << 8;
    /// `a`.
    pub const A: u32 = 1 << 9;
    /// `p`.
    pub const P: u32 = 1 << 10;
    /// `form`.
    pub const FORM: u32 = 1 << 11;
    /// `li`.
    pub const LI: u32 = 1 << 12;
    /// `dd`, `dt`.
    pub const DD_DT: u32 = 1 << 13;
    /// `button`.
    pub const BUTTON: u32 = 1 << 14;
    /// `table`: its children must be [`IN_TABLE`].
    pub const IS_TABLE: u32 = 1 << 15;
    /// `tbody`, `thead`, `tfoot`: their children must be [`IN_SECTION`].
    pub const IS_SECTION: u32 = 1 << 16;
    /// `tr`: its children must be [`IN_TR`].
    pub const IS_TR: u32 = 1 << 17;
    /// `colgroup`: its children must be [`IN_COLGROUP`].
    pub const IS_COLGROUP: u32 = 1 << 18;
    /// `caption`, `colgroup`, `tbody`, `tfoot`, `thead`: where the table rules put them in a
    /// `table`.
    pub const IN_TABLE: u32 = 1 << 19;
    /// `tr`.
    pub const IN_SECTION: u32 = 1 << 20;
    /// `td`, `th`.
    pub const IN_TR: u32 = 1 << 21;
    /// `col`.
    pub const IN_COLGROUP: u32 = 1 << 22;

    /// Block elements: they close an open `<p>` and are special.
    const BLOCK: u32 = CLOSES_P | SPECIAL;

    /// Every element with bits, sorted by name (a table and a binary search: a `match` on the
    /// names compiled to more code).
    const TAGS: &[(&str, u32)] = &[
        ("a", A),
        ("address", CLOSES_P),
        ("article", BLOCK),
        ("aside", BLOCK),
        ("blockquote", BLOCK),
        ("br", VOID | SPECIAL),
        ("button", SPECIAL | P_STOP | BUTTON),
        ("caption", SPECIAL | SCOPE | P_STOP | TABLE_PART | IN_TABLE),
        ("col", VOID | SPECIAL | TABLE_PART | IN_COLGROUP),
        (
            "colgroup",
            SPECIAL | TABLE_ROWS | TABLE_PART | IS_COLGROUP | IN_TABLE,
        ),
        ("dd", BLOCK | DD_DT),
        ("details", BLOCK),
        ("div", CLOSES_P),
        ("dl", BLOCK),
        ("dt", BLOCK | DD_DT),
        ("fieldset", BLOCK),
        ("figcaption", BLOCK),
        ("figure", BLOCK),
        ("footer", BLOCK),
        ("form", BLOCK | FORM),
        ("h1", BLOCK | HEADING),
        ("h2", BLOCK | HEADING),
        ("h3", BLOCK | HEADING),
        ("h4", BLOCK | HEADING),
        ("h5", BLOCK | HEADING),
        ("h6", BLOCK | HEADING),
        ("header", BLOCK),
        ("hgroup", BLOCK),
        ("hr", VOID | BLOCK),
        ("img", VOID | SPECIAL),
        ("input", VOID | SPECIAL),
        ("li", BLOCK | LI),
        ("main", BLOCK),
        ("menu", BLOCK),
        ("nav", BLOCK),
        ("ol", BLOCK),
        ("p", CLOSES_P | P),
        ("pre", BLOCK),
        ("rb", RUBY),
        ("rp", RUBY),
        ("rt", RUBY),
        ("rtc", RUBY),
        ("search", BLOCK),
        ("section", BLOCK),
        ("summary", BLOCK),
        ("table", BLOCK | SCOPE | P_STOP | TABLE_ROWS | IS_TABLE),
        (
            "tbody",
            SPECIAL | TABLE_ROWS | TABLE_PART | IS_SECTION | IN_TABLE,
        ),
        ("td", SPECIAL | SCOPE | P_STOP | TABLE_PART | IN_TR),
        (
            "tfoot",
            SPECIAL | TABLE_ROWS | TABLE_PART | IS_SECTION | IN_TABLE,
        ),
        ("th", SPECIAL | SCOPE | P_STOP | TABLE_PART | IN_TR),
        (
            "thead",
            SPECIAL | TABLE_ROWS | TABLE_PART | IS_SECTION | IN_TABLE,
        ),
        ("tr", SPECIAL | TABLE_ROWS | TABLE_PART | IS_TR | IN_SECTION),
        ("ul", BLOCK),
        ("wbr", VOID | SPECIAL),
    ];

    /// The bits of element `name` (a lowercase name, as the serializer writes it; 0 for any
    /// other element).
    pub fn tag_bits(name: &str) -> u32 {
        TAGS.binary_search_by(|&(n, _)| n.cmp(name))
            .map_or(0, |i| TAGS[i].1)
    }

    #[cfg(test)]
    #[test]
    fn the_table_is_sorted() {
        assert!(TAGS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}

/// The HTML parser drops a newline right after `<pre>`, and html5ever's serializer does not
/// write the compensating extra newline the HTML spec once required, so `<pre>` + comment +
/// newline would lose a newline on every round trip (not idempotent). Put it back.
///
/// Sound on serializer output only: html5ever escapes `<` and `>` in text and attribute values,
/// so every `<pre` starts a tag and the next `>` ends it.
fn double_leading_newline_in_pre(out: String) -> String {
    if !out.contains("<pre") {
        return out;
    }
    let mut fixed = String::with_capacity(out.len() + 8);
    let mut rest = out.as_str();
    while let Some(at) = rest.find("<pre") {
        let after_name = at + "<pre".len();
        let Some(tail) = rest.get(after_name..) else {
            break;
        };
        let is_pre_tag = tail.starts_with('>') || tail.starts_with(' ');
        let Some(close) = tail.find('>').map(|c| after_name + c + 1) else {
            break;
        };
        let (head, next) = rest.split_at(close);
        fixed.push_str(head);
        if is_pre_tag && next.starts_with('\n') {
            fixed.push('\n');
        }
        rest = next;
    }
    fixed.push_str(rest);
    fixed
}

/// What one pass over a sanitizer's input finds before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StartTags {
    /// An upper bound on the number of start tags the tokenizer can see: every `<` followed
    /// by an ASCII letter.
    count: usize,
    /// Whether some `<` is followed by `pre` in any case: false means the parser builds no
    /// `<pre>` element from this text (an element is only ever made by its own start tag).
    pre: bool,
}

/// [`StartTags`] of `html`, searching for `<` rather than looking at every pair of bytes.
fn scan_start_tags(html: &str) -> StartTags {
    let bytes = html.as_bytes();
    let mut scan = StartTags {
        count: 0,
        pre: false,
    };
    for (at, _) in html.match_indices('<') {
        let Some(&first) = bytes.get(at + 1) else {
            continue;
        };
        if first.is_ascii_alphabetic() {
            scan.count += 1;
            if !scan.pre && (first | 0x20) == b'p' {
                scan.pre = bytes
                    .get(at + 1..at + 4)
                    .is_some_and(|name| name.eq_ignore_ascii_case(b"pre"));
            }
        }
    }
    scan
}

/// Map a host-given element name to its `'static` entry in the superset.
fn allowable_element(name: &str) -> Result<&'static str, SanitizeError> {
    let lower = name.to_ascii_lowercase();
    DEFAULT_ELEMENTS
        .iter()
        .chain(EXTRA_ELEMENTS)
        .find(|e| **e == lower)
        .copied()
        .ok_or_else(|| SanitizeError::ElementNotAllowable {
            element: name.to_owned(),
            reason: element_refusal(&lower),
        })
}

fn allowable_generic_attribute(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    DEFAULT_GENERIC_ATTRIBUTES
        .iter()
        .chain(EXTRA_GENERIC_ATTRIBUTES)
        .find(|a| **a == lower)
        .copied()
}

fn allowable_element_attribute(element: &str, name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower != "aria-*" {
        if let Some(a) = allowable_generic_attribute(&lower) {
            return Some(a);
        }
    }
    DEFAULT_ELEMENT_ATTRIBUTES
        .iter()
        .chain(EXTRA_ELEMENT_ATTRIBUTES)
        .filter(|(e, _)| *e == element)
        .flat_map(|(_, attrs)| attrs.iter())
        .find(|a| **a == lower)
        .copied()
}

fn attribute_error(element: &str, attribute: &str) -> SanitizeError {
    SanitizeError::AttributeNotAllowable {
        element: element.to_owned(),
        attribute: attribute.to_owned(),
        reason: attribute_refusal(&attribute.to_ascii_lowercase()),
    }
}

fn element_refusal(lower: &str) -> &'static str {
    match lower {
        "svg" | "math" | "foreignobject" | "annotation-xml" | "mtext" | "mglyph" | "malignmark"
        | "mi" | "mo" | "mn" | "ms" | "set" | "animate" | "use" | "image" | "desc" => {
            "SVG and MathML (foreign content) are never allowed; every known ammonia XSS needed them"
        }
        "script" | "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript"
        | "plaintext" | "textarea" | "title" | "template" => {
            "raw-text, RCDATA and template elements are never allowed; every known ammonia XSS needed one"
        }
        "object" | "embed" | "applet" | "frame" | "frameset" | "portal" | "fencedframe" => {
            "elements that embed another document or a plugin are never allowed"
        }
        "html" | "head" | "body" | "base" | "meta" | "link" => {
            "document-level elements are never allowed (the input is a fragment)"
        }
        "form" | "input" | "button" | "select" | "option" | "optgroup" | "label" | "fieldset"
        | "legend" | "output" | "datalist" | "keygen" | "selectedcontent" => {
            "form elements are never allowed (credential phishing, autofill, DOM clobbering)"
        }
        _ => "expected one of the allowable elements (see allowable_elements())",
    }
}

fn attribute_refusal(lower: &str) -> &'static str {
    if lower.starts_with("on") {
        return "event handler attributes are never allowed";
    }
    match lower {
        "style" => {
            "style attributes are never allowed (overlays outside the shadow root, url() requests)"
        }
        "name" => "name is never allowed (DOM clobbering)",
        "rel" | "target" => "rel and target are set by the sanitizer (see linkTarget)",
        "srcdoc" | "srcset" | "formaction" | "action" | "ping" | "xlink:href" | "background"
        | "poster" => "this URL or document attribute is never allowed",
        _ => {
            "expected one of the allowable attributes for this element (see allowable_attributes())"
        }
    }
}

/// The last word on attribute values, after ammonia's allow-list and scheme checks.
fn filter_attribute<'v>(
    urls: &UrlRule,
    element: &str,
    attribute: &str,
    value: &'v str,
) -> Option<Cow<'v, str>> {
    let keep = match urls {
        UrlRule::Default { data_images } => match attribute {
            "href" | "src" | "cite" => url_allowed(
                *data_images && element == "img" && attribute == "src",
                value,
            ),
            _ => true,
        },
        UrlRule::Origins(origins) => {
            url_attribute_allowed(attribute, value, origins)
                && (element != "input"
                    || attribute != "type"
                    || REMOTE_UI_INPUT_TYPES
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(value.trim())))
        }
    };
    keep.then_some(Cow::Borrowed(value))
}

/// The remote-UI URL rule: may attribute `attribute` (a lowercase name) keep `value` when
/// only `origins` may be reached? Attributes that carry no URL always may.
///
/// - URL attributes (`src`, `href`, `cite`, `poster`, `action`, `formaction`, `xlink:href`,
///   `background`, `data`, …): the value is an absolute `http:`/`https:` URL whose origin is
///   one of `origins` (compared after WHATWG parsing, so `HTTPS://CDN.example:443/x` is
///   `https://cdn.example`). Relative and protocol-relative URLs are refused (they resolve
///   against the host page), and so is anything with a character that is not printable ASCII
///   (after trimming surrounding ASCII whitespace): parsers that disagree on such input
///   cannot disagree on a URL that has none.
/// - `srcset` and `ping`: every candidate must pass (descriptors after the URL are ignored).
/// - `style`: no backslash (CSS escapes), no comment, no `image-set(`, `image(`,
///   `cross-fade(`, `element(`, `src(` or `@`, and every `url(…)` must pass.
///
/// `origins` are serialized origins (`https://cdn.example`, `http://127.0.0.1:8701`), as
/// [`Manifest::assets`](super::manifest::Manifest::assets) returns them.
///
/// ```
/// use plugin_warden::core::sanitize::url_attribute_allowed;
/// let o = ["https://cdn.example".to_owned()];
/// assert!(url_attribute_allowed("src", "https://cdn.example/a.png", &o));
/// assert!(url_attribute_allowed("src", " HTTPS://CDN.example:443/a.png", &o));
/// assert!(!url_attribute_allowed("src", "https://cdn.example.evil.example/a.png", &o));
/// assert!(!url_attribute_allowed("src", "/a.png", &o));
/// assert!(!url_attribute_allowed("href", "//cdn.example/a", &o)); // no base: refused
/// assert!(!url_attribute_allowed("href", "javascript:alert(1)", &o));
/// assert!(!url_attribute_allowed("src", "data:image/png;base64,AAAA", &o));
/// assert!(url_attribute_allowed("srcset", "https://cdn.example/a.png 1x, https://cdn.example/b.png 2x", &o));
/// assert!(!url_attribute_allowed("srcset", "https://cdn.example/a.png 1x, /b.png 2x", &o));
/// assert!(url_attribute_allowed("style", "background: url('https://cdn.example/bg.png')", &o));
/// assert!(!url_attribute_allowed("style", "background: url(https://evil.example/bg.png)", &o));
/// assert!(!url_attribute_allowed("style", "background: u\\72l(https://evil.example/x)", &o));
/// assert!(url_attribute_allowed("title", "https://evil.example/", &o)); // text, not a URL
/// ```
pub fn url_attribute_allowed(attribute: &str, value: &str, origins: &[String]) -> bool {
    match attribute {
        "srcset" => {
            value.split(',').all(
                |candidate| match candidate.split_ascii_whitespace().next() {
                    Some(url) => url_in_origins(url, origins),
                    None => false,
                },
            )
        }
        "ping" => value
            .split_ascii_whitespace()
            .all(|url| url_in_origins(url, origins)),
        "style" => style_allowed(value, origins),
        a if URL_BEARING_ATTRIBUTES.contains(&a) => url_in_origins(value, origins),
        _ => true,
    }
}

/// An absolute `http(s):` URL, printable ASCII only, whose origin is one of `origins`.
fn url_in_origins(value: &str, origins: &[String]) -> bool {
    let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_graphic()) {
        return false;
    }
    match WebUrl::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            let origin = url.origin().ascii_serialization();
            origins.contains(&origin)
        }
        _ => false,
    }
}

/// CSS in a `style` attribute: refused when it could hide a URL from a plain scan; otherwise
/// every `url(…)` must be in `origins`.
fn style_allowed(value: &str, origins: &[String]) -> bool {
    let lower = value.to_ascii_lowercase();
    const HIDING: &[&str] = &[
        "\\",
        "/*",
        "@",
        "image-set(",
        "image(",
        "cross-fade(",
        "element(",
        "src(",
    ];
    if HIDING.iter().any(|h| lower.contains(h)) {
        return false;
    }
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("url(") {
        let after = rest.get(at + 4..).unwrap_or("");
        let Some(close) = after.find(')') else {
            return false;
        };
        let target = after
            .get(..close)
            .unwrap_or("")
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        if !url_in_origins(target, origins) {
            return false;
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    true
}

/// `http`, `https`, `mailto`, `tel`, relative URLs, and (where `data_image` is true) raster
/// `data:` images. Parsed with the WHATWG parser, so tabs, newlines and entity tricks in the
/// scheme (`java&#09;script:`) are seen as the browser sees them.
///
/// Defense in depth against parsers that disagree with WHATWG (older engines, other consumers of
/// the HTML): the value must also pass with every character that is not printable ASCII removed,
/// so `"\u{2028}javascript:alert(1)"` or `"\u{200b}javascript:…"` — harmless relative URLs to
/// WHATWG — are dropped too.
fn url_allowed(data_image: bool, value: &str) -> bool {
    if !value.chars().all(|c| c.is_ascii_graphic()) {
        let squeezed: String = value.chars().filter(char::is_ascii_graphic).collect();
        if !url_allowed_as_parsed(data_image, &squeezed) {
            return false;
        }
    } else {
        // Printable ASCII only: nothing for the parser to strip or remove, so the scheme is
        // what the text says (see `scheme_of`), and only a `data:` URL needs the whole parse.
        // This differs from the whole parse only for an `http(s):`, `mailto:` or `tel:` URL
        // that does not parse; ammonia's own scheme check (the same `url` crate, on `href`
        // and `src`) drops those, and on `cite` a broken link is harmless. It saves a
        // second parse of every link (~4 % of a whole page's clean).
        match scheme_of(value) {
            None => return true,
            Some(s) if s.eq_ignore_ascii_case("data") => {}
            Some(s) => return URL_SCHEMES.iter().any(|a| a.eq_ignore_ascii_case(s)),
        }
    }
    url_allowed_as_parsed(data_image, value)
}

/// The scheme of a URL with nothing for the WHATWG parser to strip or remove (no whitespace, no
/// control or non-ASCII character): an ASCII letter, then letters, digits, `+`, `-` or `.`, up
/// to the first `:`. `None` when the text does not start so: a relative URL, which without a
/// base is the parser's "relative URL without base".
fn scheme_of(value: &str) -> Option<&str> {
    let end = value.find(':')?;
    let scheme = &value[..end];
    let mut bytes = scheme.bytes();
    let first = bytes.next()?;
    (first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
    .then_some(scheme)
}

fn url_allowed_as_parsed(data_image: bool, value: &str) -> bool {
    match WebUrl::parse(value) {
        Ok(url) => match url.scheme() {
            "http" | "https" | "mailto" | "tel" => true,
            "data" => data_image && is_raster_data_image(&url),
            _ => false,
        },
        Err(e) if e.kind == UrlParseErrorKind::RelativeWithoutBase => true,
        Err(_) => false,
    }
}

fn is_raster_data_image(url: &WebUrl) -> bool {
    // A data: URL's path is `<mediatype>[;params],<data>`.
    let Some((header, _data)) = url.path().split_once(',') else {
        return false;
    };
    let media_type = header.split(';').next().unwrap_or("").trim();
    DATA_IMAGE_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(media_type))
}

/// [`may_reparse_differently`] against the list-based version it replaced (kept here as the
/// oracle): the same answer on generated serializer-like output and on arbitrary text.
/// The scan's `pre` hint: it finds every `<pre` in any case, and skipping the `<pre>` fix-up
/// where it found none gives the output of always looking, on text built to hold `pre` in
/// every form and place (tags, text, attributes, comments, raw text, foreign content).
#[cfg(all(test, feature = "ammonia", not(target_arch = "wasm32")))]
mod pre_hint {
    use super::{scan_start_tags, AmmoniaCleaner, Cleaner, Sanitizer};
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "<",
            ">",
            "pre",
            "PrE",
            "<p",
            "<P",
            "re",
            "RE",
            "<pre>",
            "<PRE>",
            "</pre>",
            "<pre ",
            "\n",
            "\r",
            "x",
            "é",
            " ",
            "<pre\n>",
            "<pre/>",
            "<!--<pre>-->",
            "<b title=\"<pre>\">",
            "&lt;pre>",
            "<textarea>",
            "</textarea>",
            "<svg>",
            "</svg>",
            "<table>",
            "<a href=x>",
            "<listing>",
            "\0",
            "<p\0re>",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn the_hint_finds_every_pre_and_changes_no_output(
            pieces in proptest::collection::vec(piece(), 0..14),
        ) {
            let html = pieces.concat();
            let scan = scan_start_tags(&html);
            prop_assert_eq!(scan.pre, html.to_ascii_lowercase().contains("<pre"));
            let sanitizer = Sanitizer::default();
            let cleaner = AmmoniaCleaner::new(&sanitizer);
            prop_assert_eq!(cleaner.clean_scanned(&html, scan.pre), cleaner.clean(&html), "{:?}", html);
            prop_assert_eq!(sanitizer.sanitize(&html), cleaner.clean(&html));
        }
    }
}

#[cfg(all(test, feature = "ammonia", not(target_arch = "wasm32")))]
mod reparse_oracle {
    use super::may_reparse_differently;
    use proptest::prelude::*;

    // The version before tag bits, unchanged.
    const VOID: &[&str] = &["br", "col", "hr", "img", "input", "wbr"];
    // Start tags that close an open `<p>` (in button scope).
    const CLOSES_P: &[&str] = &[
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "search",
        "section",
        "summary",
        "table",
        "ul",
    ];
    // The parser's "special" elements among the allowable ones but `address`, `div` and `p`:
    // they end the search for an open `li`/`dd`/`dt`. Then the boundaries of "in scope".
    const SPECIAL: &[&str] = &[
        "article",
        "aside",
        "blockquote",
        "br",
        "button",
        "caption",
        "col",
        "colgroup",
        "dd",
        "details",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "img",
        "input",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "pre",
        "search",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "wbr",
    ];
    const SCOPE: &[&str] = &["caption", "table", "td", "th"];
    const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];
    const RUBY: &[&str] = &["rb", "rp", "rt", "rtc"];
    fn oracle(out: &str) -> bool {
        // Whether `name` is where the table rules put it, given its parent (`None`: the fragment).
        fn table_ok(parent: Option<&str>, name: &str) -> bool {
            let wants: &[&str] = match parent {
                Some("table") => &["caption", "colgroup", "tbody", "tfoot", "thead"],
                Some("tbody" | "thead" | "tfoot") => &["tr"],
                Some("tr") => &["td", "th"],
                Some("colgroup") => &["col"],
                _ => {
                    return !matches!(
                        name,
                        "caption"
                            | "col"
                            | "colgroup"
                            | "tbody"
                            | "td"
                            | "tfoot"
                            | "th"
                            | "thead"
                            | "tr"
                    )
                }
            };
            wants.contains(&name)
        }
        // Walks the open elements from the innermost: does `hit` come before a `stop`?
        fn open_before(stack: &[&str], hit: &[&str], stop: &[&str]) -> bool {
            for e in stack.iter().rev() {
                if hit.contains(e) {
                    return true;
                }
                if stop.contains(e) {
                    return false;
                }
            }
            false
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = out;
        while !rest.is_empty() {
            let text_end = rest.find('<').unwrap_or(rest.len());
            let (text, tail) = rest.split_at(text_end);
            let in_table_rows = matches!(
                stack.last(),
                Some(&("table" | "tbody" | "thead" | "tfoot" | "tr" | "colgroup"))
            );
            if in_table_rows && text.bytes().any(|b| !b.is_ascii_whitespace()) {
                return true; // foster-parented out of the table
            }
            if tail.is_empty() {
                break;
            }
            let Some(close) = tail.find('>') else {
                return true;
            };
            let tag = &tail[1..close];
            rest = &tail[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name) {
                    return true; // not well nested: not serializer output
                }
                continue;
            }
            if tag.starts_with('!') {
                continue; // a comment or doctype (comments are stripped; be lenient)
            }
            let name = tag.split([' ', '/']).next().unwrap_or("");
            let parent = stack.last().copied();
            let reparses = (name == "a" && open_before(&stack, &["a"], SCOPE))
                || (CLOSES_P.contains(&name)
                    && open_before(&stack, &["p"], &["button", "caption", "table", "td", "th"]))
                || (name == "form" && stack.contains(&"form"))
                || (HEADINGS.contains(&name) && parent.is_some_and(|p| HEADINGS.contains(&p)))
                || (name == "li" && open_before(&stack, &["li"], SPECIAL))
                || (matches!(name, "dd" | "dt") && open_before(&stack, &["dd", "dt"], SPECIAL))
                || (name == "button" && open_before(&stack, &["button"], SCOPE))
                || (RUBY.contains(&name) && stack.iter().any(|e| RUBY.contains(e)))
                || !table_ok(parent, name);
            if reparses {
                return true;
            }
            if !VOID.contains(&name) {
                stack.push(name);
            }
        }
        !stack.is_empty()
    }

    /// Elements the lists do not name: unknown, custom, uppercase, empty.
    const OTHERS: &[&str] = &["span", "b", "ruby", "x-y", "A", "TD", ""];

    /// Every name the oracle's lists know, and [`OTHERS`].
    fn names() -> Vec<&'static str> {
        let mut all: Vec<&'static str> =
            [VOID, CLOSES_P, SPECIAL, SCOPE, HEADINGS, RUBY, OTHERS].concat();
        all.sort_unstable();
        all.dedup();
        all
    }

    #[derive(Debug, Clone)]
    enum Op {
        Open(usize, bool),
        Close,
        Text(bool),
        Comment,
        Stray(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..8usize, any::<bool>()).prop_map(|(i, a)| Op::Open(i, a)),
            4 => Just(Op::Close),
            3 => any::<bool>().prop_map(Op::Text),
            1 => Just(Op::Comment),
            1 => (0..8usize).prop_map(Op::Stray),
        ]
    }

    /// Serializer-like text: tags opened and closed in order (voids never closed), text,
    /// comments, and now and then a close tag that does not match. Names come from `vocab`
    /// (a few names per case, so that they meet each other often).
    fn render(vocab: &[&str], ops: &[Op], close_all: bool) -> String {
        const VOID: &[&str] = &["br", "col", "hr", "img", "input", "wbr"];
        let mut out = String::new();
        let mut stack: Vec<&str> = Vec::new();
        for op in ops {
            match op {
                Op::Open(i, attr) => {
                    let name = vocab[i % vocab.len()];
                    out.push('<');
                    out.push_str(name);
                    if *attr {
                        out.push_str(" title=\"x y\"");
                    }
                    out.push('>');
                    if !VOID.contains(&name) {
                        stack.push(name);
                    }
                }
                Op::Close => {
                    if let Some(name) = stack.pop() {
                        out.push_str("</");
                        out.push_str(name);
                        out.push('>');
                    }
                }
                Op::Text(ws) => out.push_str(if *ws { " \n" } else { "t" }),
                Op::Comment => out.push_str("<!-- c -->"),
                Op::Stray(i) => {
                    out.push_str("</");
                    out.push_str(vocab[i % vocab.len()]);
                    out.push('>');
                }
            }
        }
        if close_all {
            while let Some(name) = stack.pop() {
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
        out
    }

    /// Every sequence of up to `len` steps over `names` (each step: open one of them, close
    /// the innermost, or text), closed at the end or left open.
    fn every_sequence(names: &[&str], len: usize, check: &mut impl FnMut(&str)) {
        let steps = names.len() + 3;
        let mut ops: Vec<Op> = Vec::new();
        for n in 0..=len {
            let total = steps.pow(n as u32);
            for mut code in 0..total {
                ops.clear();
                for _ in 0..n {
                    let step = code % steps;
                    code /= steps;
                    ops.push(match step {
                        s if s < names.len() => Op::Open(s, false),
                        s if s == names.len() => Op::Close,
                        s => Op::Text(s == names.len() + 1),
                    });
                }
                check(&render(names, &ops, true));
                check(&render(names, &ops, false));
            }
        }
    }

    #[test]
    fn same_answer_on_every_short_sequence() {
        let mut check = |out: &str| {
            assert_eq!(may_reparse_differently(out), oracle(out), "{out}");
        };
        // Every name, three steps; the names the rules single out, four.
        every_sequence(&names(), 3, &mut check);
        let structural = [
            "table", "tbody", "tr", "td", "caption", "colgroup", "col", "a", "p", "button", "li",
            "dd", "div", "form", "h1", "rb", "span",
        ];
        every_sequence(&structural, 4, &mut check);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn same_answer_on_serializer_like_output(
            vocab in proptest::sample::subsequence(names(), 1..5),
            ops in proptest::collection::vec(op(), 0..24),
            close_all in any::<bool>(),
        ) {
            let out = render(&vocab, &ops, close_all);
            prop_assert_eq!(may_reparse_differently(&out), oracle(&out), "{}", out);
        }

        #[test]
        fn same_answer_on_any_text(out in "[<>/a-z0-9 !\n-]{0,60}") {
            prop_assert_eq!(may_reparse_differently(&out), oracle(&out), "{}", out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cleaner that cannot finish (the browser's, when a part of its module cannot be
    /// loaded): the caller gets the error with its code, never HTML.
    #[test]
    fn a_failing_cleaner_fails_the_sanitize_with_module_not_loaded_and_never_returns_input() {
        struct Failing;
        impl Cleaner for Failing {
            fn clean(&self, _: &str) -> String {
                String::new()
            }
            fn try_clean_scanned(&self, _: &str, _: bool) -> Result<String, SanitizeError> {
                Err(SanitizeError::CleanerFailed {
                    reason: "the second part could not be loaded".into(),
                })
            }
        }
        struct Factory;
        impl CleanerFactory for Factory {
            fn cleaner(&self, _: &Sanitizer) -> Result<Rc<dyn Cleaner>, SanitizeError> {
                Ok(Rc::new(Failing))
            }
        }
        set_cleaner_factory(Some(Rc::new(Factory)));
        let s = Sanitizer::default();
        let html = "<a href=\"https://b\u{fc}cher.example/\" onclick=\"x()\">b</a>";
        let err = s.try_sanitize(html).unwrap_err();
        set_cleaner_factory(None);
        assert_eq!(err.code(), ErrorCode::ModuleNotLoaded);
        assert_eq!(err.to_string(), "the second part could not be loaded");
        assert_eq!(s.sanitize(html), "");
    }

    #[test]
    fn default_and_extra_lists_do_not_overlap_the_clean_content_list() {
        for e in allowable_elements() {
            assert!(!CLEAN_CONTENT_ELEMENTS.contains(&e), "{e}");
        }
    }

    #[test]
    fn the_full_superset_builds_and_cleans() {
        let all = allowable_attributes();
        let mut attrs: SortedMap<String, Vec<String>> = SortedMap::new();
        attrs.insert(
            "*".into(),
            EXTRA_GENERIC_ATTRIBUTES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        for (e, a) in all.elements {
            attrs.insert(e.into(), a.iter().map(|s| s.to_string()).collect());
        }
        let config = SanitizerConfig {
            allow_elements: EXTRA_ELEMENTS.iter().map(|s| s.to_string()).collect(),
            allow_attributes: attrs,
            ..SanitizerConfig::default()
        };
        let s = Sanitizer::new(&config).expect("invariant: the superset is allowable");
        assert_eq!(
            s.sanitize("<p id=a class=b aria-label=c>x</p>"),
            "<p id=\"user-content-a\" class=\"b\" aria-label=\"c\">x</p>"
        );
    }

    #[test]
    fn pre_newlines_survive_round_trips() {
        assert_eq!(
            double_leading_newline_in_pre("<pre>\nx</pre>".into()),
            "<pre>\n\nx</pre>"
        );
        assert_eq!(
            double_leading_newline_in_pre("<pre dir=\"ltr\">\nx</pre><p>\n</p>".into()),
            "<pre dir=\"ltr\">\n\nx</pre><p>\n</p>"
        );
        assert_eq!(double_leading_newline_in_pre("<pref>\n".into()), "<pref>\n");
        assert_eq!(
            double_leading_newline_in_pre("<pre>x\n</pre>".into()),
            "<pre>x\n</pre>"
        );
        let s = Sanitizer::default();
        let once = s.sanitize("<pre><!-- c -->\n<b>x</b></pre>");
        assert_eq!(once, "<pre>\n\n<b>x</b></pre>");
        assert_eq!(s.sanitize(&once), once);
    }

    /// The printable-ASCII shortcut in `url_allowed` against the whole parse: the same answer,
    /// except for a URL of an allowed scheme that does not parse (ammonia's own check drops
    /// those; see `url_allowed`). And the start-tag count against the pairwise scan it replaced.
    #[cfg(all(feature = "native-url", not(target_arch = "wasm32")))]
    mod shortcut {
        use super::super::{url_allowed, url_allowed_as_parsed, URL_SCHEMES};
        use proptest::prelude::*;

        fn check(data_image: bool, value: &str) -> Result<(), TestCaseError> {
            let short = url_allowed(data_image, value);
            let whole = url_allowed_as_parsed(data_image, value);
            if short != whole {
                let parsed = url::Url::parse(value);
                let scheme = value.split(':').next().unwrap_or("");
                prop_assert!(
                    short
                        && parsed.is_err()
                        && URL_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)),
                    "{value:?}: shortcut {short}, parse {whole} ({parsed:?})"
                );
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(20_000))]

            #[test]
            fn agrees_with_the_whole_parse(
                scheme in "(|[a-zA-Z][a-zA-Z0-9+.-]{0,4}|javascript|JaVaScRiPt|data|DATA|https?|HTTPS|mailto|tel|vbscript|[0-9+.-][a-z]{0,3})",
                colon in "(:|)",
                rest in "[!-~]{0,24}",
                data_image in any::<bool>(),
            ) {
                check(data_image, &format!("{scheme}{colon}{rest}"))?;
            }

            #[test]
            fn agrees_on_any_printable_ascii(value in "[!-~]{0,32}", data_image in any::<bool>()) {
                check(data_image, &value)?;
            }

            #[test]
            fn start_tags_counted_as_every_pair_would(html in "[<a-zé/> 1PRE]{0,40}") {
                let pairs = html
                    .as_bytes()
                    .windows(2)
                    .filter(|w| matches!(w, [b'<', c] if c.is_ascii_alphabetic()))
                    .count();
                let pre = html.to_ascii_lowercase().contains("<pre");
                let scan = super::super::scan_start_tags(&html);
                prop_assert_eq!((scan.count, scan.pre), (pairs, pre));
            }
        }

        #[test]
        fn known_cases() {
            let both = |v: &str| (url_allowed(false, v), url_allowed(true, v));
            assert_eq!(both("javascript:alert(1)"), (false, false));
            assert_eq!(both("JAVASCRIPT:alert(1)"), (false, false));
            assert_eq!(both("java+script:x"), (false, false));
            assert_eq!(both("vbscript:x"), (false, false));
            assert_eq!(both("https://a.example/x?y#z"), (true, true));
            assert_eq!(both("HTTP://A.EXAMPLE"), (true, true));
            assert_eq!(both("mailto:a@b.example"), (true, true));
            assert_eq!(both("/a:b"), (true, true));
            assert_eq!(both("./javascript:x"), (true, true));
            assert_eq!(both("1javascript:x"), (true, true));
            assert_eq!(both(""), (true, true));
            assert_eq!(both("data:image/png;base64,AAAA"), (false, true));
            assert_eq!(both("DATA:image/png,AAAA"), (false, true));
            assert_eq!(both("data:text/html,x"), (false, false));
            assert_eq!(both("c:/windows"), (false, false));
        }
    }

    #[test]
    fn data_image_types() {
        let ok = |v: &str| url_allowed(true, v);
        assert!(ok("data:image/png;base64,AAAA"));
        assert!(ok("data:IMAGE/PNG,AAAA"));
        assert!(!ok("data:image/svg+xml,<svg onload=alert(1)>"));
        assert!(!ok("data:text/html,<script>alert(1)</script>"));
        assert!(!ok("data:image/png"));
        assert!(!url_allowed(false, "data:image/png;base64,AAAA"));
        assert!(!url_allowed(false, "\u{2028}javascript:alert(1)"));
        assert!(!url_allowed(false, "java\u{0}script:alert(1)"));
        assert!(!url_allowed(false, "\u{180e}javascript:alert(1)"));
        assert!(!url_allowed(false, "java\u{ad}script:alert(1)"));
        assert!(url_allowed(false, "/日本/page"));
        assert!(url_allowed(false, "/a b/c"));
        assert!(url_allowed(false, " https://a.example/ "));
    }
}
