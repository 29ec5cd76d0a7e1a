//! A sanitized HTML fragment as instructions to build its DOM from, node by node: what
//! `host.setHTML` hands the browser instead of text for it to parse again.
//!
//! [`Sanitizer::try_sanitize_tree`](super::sanitize::Sanitizer::try_sanitize_tree) writes one
//! from the cleaned tree itself; the sanitizer module's JS loop (`crates/sanitizer/src/tree.js`)
//! builds it with `createElement`, `setAttribute` and `createTextNode` — no string reaches an
//! HTML parser, so nothing can parse differently from what was checked.
//!
//! The format: [`ops`](HtmlTree::ops) starts with the names table, `n` and then `n` pairs
//! `start, end`: the element and attribute names, each once. Then the nodes, depth first:
//! - [`OPEN`](HtmlTree::OPEN) `name attributes (name start end)*`: an element and its
//!   attributes, in order; its children follow, up to its [`CLOSE`](HtmlTree::CLOSE);
//! - [`TEXT`](HtmlTree::TEXT) `start end`: a text node (adjacent text is one node, as a parse
//!   gives it);
//! - [`CLOSE`](HtmlTree::CLOSE): the end of the innermost open element.
//!
//! Names are indexes into the names table; `start end` is a range of
//! [`text`](HtmlTree::text) in UTF-16 code units (JS string indexes), so the loop slices one
//! JS string made of the text at once.

use html5ever::LocalName;

/// A sanitized fragment as DOM-building instructions (see the module's documentation). The
/// default is the empty fragment (no names, no nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlTree {
    ops: Vec<u32>,
    text: String,
}

impl HtmlTree {
    /// Opens an element: `name attributes (name start end)*`.
    pub const OPEN: u32 = 1;
    /// A text node: `start end`.
    pub const TEXT: u32 = 2;
    /// Closes the innermost open element.
    pub const CLOSE: u32 = 3;

    /// The instructions: the names table, then the nodes.
    pub fn ops(&self) -> &[u32] {
        if self.ops.is_empty() {
            return &[0];
        }
        &self.ops
    }

    /// Every name, attribute value and text, one after another.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Writes an [`HtmlTree`], node by node, depth first.
#[derive(Debug, Default)]
pub(crate) struct TreeWriter {
    nodes: Vec<u32>,
    text: String,
    /// `text`'s length in UTF-16 code units.
    units: u32,
    names: Vec<LocalName>,
    /// Where in `nodes` the last node's end is, when that node is text.
    text_ends_at: Option<usize>,
}

/// `s`'s length in UTF-16 code units: one per character, two for those outside the BMP
/// (their UTF-8 is four bytes, led by a byte from 0xF0).
fn utf16_len(s: &str) -> u32 {
    let units = if s.is_ascii() {
        s.len()
    } else {
        s.bytes()
            .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
            .sum()
    };
    u32::try_from(units).unwrap_or(u32::MAX)
}

impl TreeWriter {
    fn push_text(&mut self, s: &str) -> [u32; 2] {
        let start = self.units;
        self.text.push_str(s);
        self.units = self.units.saturating_add(utf16_len(s));
        [start, self.units]
    }

    fn name(&mut self, name: &LocalName) -> u32 {
        // A fragment has a few dozen names; comparing atoms is comparing two words.
        let at = match self.names.iter().position(|n| n == name) {
            Some(at) => at,
            None => {
                self.names.push(name.clone());
                self.names.len() - 1
            }
        };
        u32::try_from(at).unwrap_or(u32::MAX)
    }

    /// An element with its attributes; its children follow, then [`close`](Self::close).
    pub(crate) fn open<'a>(
        &mut self,
        name: &LocalName,
        attributes: impl ExactSizeIterator<Item = (&'a LocalName, &'a str)>,
    ) {
        let id = self.name(name);
        let count = u32::try_from(attributes.len()).unwrap_or(u32::MAX);
        self.nodes.extend([HtmlTree::OPEN, id, count]);
        for (name, value) in attributes {
            let id = self.name(name);
            let [start, end] = self.push_text(value);
            self.nodes.extend([id, start, end]);
        }
        self.text_ends_at = None;
    }

    /// A text node, joined to the one before it if that was text too.
    pub(crate) fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let [start, end] = self.push_text(s);
        match self.text_ends_at {
            Some(at) => self.nodes[at] = end,
            None => {
                self.nodes.extend([HtmlTree::TEXT, start, end]);
                self.text_ends_at = Some(self.nodes.len() - 1);
            }
        }
    }

    /// The end of the innermost open element.
    pub(crate) fn close(&mut self) {
        self.nodes.push(HtmlTree::CLOSE);
        self.text_ends_at = None;
    }

    /// The tree: the names table first.
    pub(crate) fn finish(mut self) -> HtmlTree {
        let names = std::mem::take(&mut self.names);
        let mut ops = Vec::with_capacity(1 + 2 * names.len() + self.nodes.len());
        ops.push(u32::try_from(names.len()).unwrap_or(u32::MAX));
        for name in &names {
            ops.extend(self.push_text(name));
        }
        ops.extend_from_slice(&self.nodes);
        HtmlTree {
            ops,
            text: self.text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_lengths_are_js_string_lengths() {
        assert_eq!(utf16_len(""), 0);
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("€"), 1);
        assert_eq!(utf16_len("😀"), 2);
        assert_eq!(utf16_len("a😀é€"), 5);
        let s = "x\u{10FFFF}\u{FFFF}\u{80}";
        assert_eq!(utf16_len(s) as usize, s.encode_utf16().count());
    }

    #[test]
    fn names_once_adjacent_text_joined_ranges_in_utf16() {
        let mut w = TreeWriter::default();
        let p = LocalName::from("p");
        let title = LocalName::from("title");
        w.open(&p, [(&title, "😀")].into_iter());
        w.text("a");
        w.text("");
        w.text("é");
        w.open(&p, std::iter::empty());
        w.close();
        w.text("b");
        w.close();
        let t = w.finish();
        assert_eq!(t.text(), "😀aébptitle");
        assert_eq!(
            t.ops(),
            &[
                2, 5, 6, 6, 11, // names: p, title
                1, 0, 1, 1, 0, 2, // <p title="😀">
                2, 2, 4, // "aé"
                1, 0, 0, 3, // <p></p>
                2, 4, 5, // "b"
                3,
            ]
        );
    }
}
