//! A cleaned tree written out as HTML text in one pass: the text path's serializer
//! ([`Sanitizer::sanitize`](super::sanitize::Sanitizer::sanitize), `trustedHTML`, a remote UI's
//! render).
//!
//! ammonia writes its tree with html5ever's serializer, whose escaping is quadratic: for each
//! character it escapes (`&`, and the lead byte `0xC2` of U+0080 to U+00BF, U+00A0 among them)
//! it first searches the rest of the text or attribute value for `<`, `>` (and `"`), which text
//! without them makes a search to its end. 60 000 `&` took 634 ms to clean in wasm, 60 000
//! U+00A0 1.2 s, and a `title` of 60 000 `&` 627 ms: a hostile plugin's render, under the 64 KiB
//! message limit, held the host page's main thread that long, as often as the rate limit lets it
//! call. [`html_text`] writes the same text (the HTML standard's fragment serialization, as
//! html5ever writes it: the tests compare the two on every corpus) and looks at each byte once.
//!
//! What it writes, for ammonia's traversal of the tree ([`html5ever::serialize::Serialize`]):
//! - an element: `<name` and each attribute as ` name="value"` (a namespaced attribute with its
//!   `xml:`, `xmlns:` or `xlink:` prefix), then `>`; its children and `</name>`, except for a void
//!   element (`br`, `img`, …), which has neither;
//! - text: escaped (`&amp;`, `&lt;`, `&gt;`, `&nbsp;`), except inside the elements whose content
//!   the parser reads as raw text (`style`, `script`, `xmp`, `iframe`, `noembed`, `noframes`,
//!   `plaintext`, and `noscript`, scripting being on), where it is written as it is;
//! - attribute values: escaped (`&amp;`, `&quot;`, `&lt;`, `&gt;`, `&nbsp;`);
//! - comments, doctypes and processing instructions as they are (a cleaned fragment has none:
//!   ammonia strips comments).

use html5ever::serialize::{AttrRef, Serialize, Serializer, TraversalScope};
use html5ever::{local_name, ns, LocalName, QualName};
use std::io;

/// The HTML text of ammonia's cleaned fragment `document`: what `document.to_string()` writes
/// (html5ever's serializer), in one pass over each text and attribute value.
pub fn html_text(document: &ammonia::Document) -> String {
    let root: ammonia::rcdom::SerializableHandle = document.to_dom_node().into();
    let mut out = HtmlText {
        out: String::new(),
        open: Vec::new(),
    };
    // ammonia's traversal of its tree; every call into `HtmlText` answers Ok.
    root.serialize(&mut out, TraversalScope::ChildrenOnly(None))
        .expect("invariant: writing into a String cannot fail");
    out.out
}

/// An element being written: its name if it is an HTML element, and whether its children are
/// left out (a void element).
struct Open {
    html_name: Option<LocalName>,
    void: bool,
}

/// The HTML text of a tree, written by its [`Serializer`] calls (see the module's
/// documentation).
struct HtmlText {
    out: String,
    open: Vec<Open>,
}

impl HtmlText {
    /// Whether the innermost open element is void (its children are not written).
    fn in_void(&self) -> bool {
        self.open.last().is_some_and(|o| o.void)
    }

    /// `text`, escaped for an attribute value (`attribute`) or for text: one pass, each run
    /// of bytes that need no escape copied at once.
    fn escaped(&mut self, text: &str, attribute: bool) {
        let bytes = text.as_bytes();
        let mut run = 0;
        let mut i = 0;
        while i < bytes.len() {
            let (escape, len) = match bytes[i] {
                b'&' => ("&amp;", 1),
                b'<' => ("&lt;", 1),
                b'>' => ("&gt;", 1),
                b'"' if attribute => ("&quot;", 1),
                0xC2 if bytes.get(i + 1) == Some(&0xA0) => ("&nbsp;", 2),
                _ => {
                    i += 1;
                    continue;
                }
            };
            // Runs end and start at ASCII bytes or at U+00A0's lead byte: char boundaries.
            self.out.push_str(&text[run..i]);
            self.out.push_str(escape);
            i += len;
            run = i;
        }
        self.out.push_str(&text[run..]);
    }
}

/// The HTML elements that have no end tag and no children.
fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("basefont")
            | local_name!("bgsound")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("frame")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("keygen")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}

/// The HTML elements whose text the parser reads raw (scripting on, as the browser parses).
fn holds_raw_text(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("style")
            | local_name!("script")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("plaintext")
            | local_name!("noscript")
    )
}

impl Serializer for HtmlText {
    fn start_elem<'a, AttrIter>(&mut self, name: QualName, attrs: AttrIter) -> io::Result<()>
    where
        AttrIter: Iterator<Item = AttrRef<'a>>,
    {
        let html = name.ns == ns!(html);
        let html_name = html.then(|| name.local.clone());
        if self.in_void() {
            // Under a void element nothing is written, however deep.
            self.open.push(Open {
                html_name,
                void: true,
            });
            return Ok(());
        }
        self.out.push('<');
        self.out.push_str(&name.local);
        for (attr, value) in attrs {
            self.out.push(' ');
            match attr.ns {
                ns!(xml) => self.out.push_str("xml:"),
                ns!(xmlns) if attr.local != local_name!("xmlns") => self.out.push_str("xmlns:"),
                ns!(xlink) => self.out.push_str("xlink:"),
                ns!() | ns!(xmlns) => {}
                _ => self.out.push_str("unknown_namespace:"),
            }
            self.out.push_str(&attr.local);
            self.out.push_str("=\"");
            self.escaped(value, true);
            self.out.push('"');
        }
        self.out.push('>');
        self.open.push(Open {
            void: html && is_void(&name.local),
            html_name,
        });
        Ok(())
    }

    fn end_elem(&mut self, name: QualName) -> io::Result<()> {
        let void = self.open.pop().is_some_and(|o| o.void);
        if !void {
            self.out.push_str("</");
            self.out.push_str(&name.local);
            self.out.push('>');
        }
        Ok(())
    }

    fn write_text(&mut self, text: &str) -> io::Result<()> {
        // (A void element's text children, which no parse makes, are written as html5ever
        // writes them: escaped or not by their parent's name.)
        let raw = self
            .open
            .last()
            .and_then(|o| o.html_name.as_ref())
            .is_some_and(holds_raw_text);
        if raw {
            self.out.push_str(text);
        } else {
            self.escaped(text, false);
        }
        Ok(())
    }

    fn write_comment(&mut self, text: &str) -> io::Result<()> {
        self.out.push_str("<!--");
        self.out.push_str(text);
        self.out.push_str("-->");
        Ok(())
    }

    fn write_doctype(&mut self, name: &str) -> io::Result<()> {
        self.out.push_str("<!DOCTYPE ");
        self.out.push_str(name);
        self.out.push('>');
        Ok(())
    }

    fn write_processing_instruction(&mut self, target: &str, data: &str) -> io::Result<()> {
        self.out.push_str("<?");
        self.out.push_str(target);
        self.out.push(' ');
        self.out.push_str(data);
        self.out.push('>');
        Ok(())
    }
}
