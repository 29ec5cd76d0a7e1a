//! plugin-warden's time-limited HTML clean (`Sanitizer::with_time_limit` in the main crate):
//! ammonia's streaming entry, `Builder::clean_from_reader`, fed the input a piece at a time,
//! each after a look at a clock, so that a clean past its deadline stops between two pieces.
//!
//! A crate of its own for one reason: `clean_from_reader` is generic over its reader, so the
//! whole parser (html5ever's tokenizer and tree builder) is instantiated for it in the crate that
//! names the reader, at that crate's opt-level. The main crate is built at opt-level `s`, where
//! this parser cleaned a remote UI's HTML 1.4× slower than ammonia's own instance (built at 3)
//! and deep nesting 2–4× slower; this crate is built at 3, like ammonia (the root Cargo.toml's
//! `[profile.release.package.plugin-warden-paced]`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io;

/// The clean reached its deadline before the parser had all of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

/// `builder.clean(html)`, the input handed to the parser `piece` bytes at a time (at least
/// one), each after a reading of `clock` (milliseconds): [`TimedOut`], and nothing of the
/// input cleaned, once a reading is past `deadline`. A clean that has all of its input is
/// finished whatever the clock says: the parser's end, ammonia's walk and the caller's writing
/// out are linear, and only the parse of deep nesting is not.
///
/// The output is `builder.clean(html)`'s: html5ever parses a stream in pieces as it parses the
/// whole (its tokenizer keeps its state across them, a character split between two pieces
/// included).
///
/// # Errors
/// [`TimedOut`], as above.
pub fn clean_by(
    builder: &ammonia::Builder<'_>,
    html: &str,
    piece: usize,
    clock: fn() -> f64,
    deadline: f64,
) -> Result<ammonia::Document, TimedOut> {
    let input = Paced {
        rest: html.as_bytes(),
        piece: piece.max(1),
        clock,
        deadline,
    };
    builder.clean_from_reader(input).map_err(|_| TimedOut)
}

/// The input, read `piece` bytes at a time, each read after a look at the clock.
struct Paced<'a> {
    rest: &'a [u8],
    piece: usize,
    clock: fn() -> f64,
    deadline: f64,
}

impl io::Read for Paced<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rest.is_empty() {
            return Ok(0);
        }
        if (self.clock)() > self.deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let n = buf.len().min(self.piece).min(self.rest.len());
        let (now, later) = self.rest.split_at(n);
        buf[..n].copy_from_slice(now);
        self.rest = later;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        static NOW: Cell<f64> = const { Cell::new(0.0) };
    }

    fn ticking() -> f64 {
        NOW.with(|n| {
            n.set(n.get() + 1.0);
            n.get()
        })
    }

    #[test]
    fn pieces_until_the_deadline_then_nothing() {
        let b = ammonia::Builder::default();
        let html = format!("<b>{}</b>", "x".repeat(100));
        // 107 bytes in pieces of 10: 11 reads, the clock at 1..=11.
        NOW.with(|n| n.set(0.0));
        let doc = clean_by(&b, &html, 10, ticking, 11.0).expect("in time");
        assert_eq!(doc.to_string(), b.clean(&html).to_string());
        NOW.with(|n| n.set(0.0));
        assert_eq!(clean_by(&b, &html, 10, ticking, 10.0).err(), Some(TimedOut));
        // A piece of 0 is a piece of 1.
        NOW.with(|n| n.set(0.0));
        assert!(clean_by(&b, "<i>ok</i>", 0, ticking, 100.0).is_ok());
    }
}
