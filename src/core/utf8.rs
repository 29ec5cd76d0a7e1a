//! A JS string's UTF-8, written into wasm memory by an encoder that works like the browser's
//! `TextEncoder.encodeInto`: it encodes whole characters from a given UTF-16 unit while they
//! fit, writes a lone surrogate as U+FFFD, and says how many units it read and how many bytes
//! it wrote. Both wasm modules copy long text in this way (the core module's
//! `web::binary::string_of`, the sanitizer module's `Cleaner.clean`); the encoder itself is
//! JS, so the order of calls lives here, where it is tested natively against a model of it.

/// What one encoder call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// UTF-16 units of the text consumed.
    pub read: usize,
    /// Bytes written into the room given.
    pub written: usize,
}

/// The UTF-8 of a text of `units` UTF-16 units, from `encode(from, room)`, which encodes the
/// text from unit `from` into `room`.
///
/// First one byte per unit: all of ASCII text in one call. If a character of more than one
/// byte did not fit, a second call encodes the rest, from the unit where the first stopped
/// (an encoder never splits a character), into three bytes per unit left: the most any unit
/// takes (a surrogate pair is two units and four bytes). So no text is encoded twice.
///
/// `None` when the encoder did not consume the whole text in those two calls, claimed more
/// than its room, or wrote text that is not UTF-8. None of these happens with a real
/// `encodeInto`; the callers have no second copy behind this one, so a mistake in how an
/// encoder is called fails loudly in their tests rather than falling back unseen.
pub fn encode_resuming(
    units: usize,
    encode: &mut dyn FnMut(usize, &mut [u8]) -> Progress,
) -> Option<String> {
    let mut buf = vec![0u8; units];
    let first = encode(0, &mut buf);
    if first.written > units {
        return None;
    }
    let (mut read, mut written) = (first.read, first.written);
    if read < units {
        buf.resize(written + (units - read).checked_mul(3)?, 0);
        let room = buf.get_mut(written..)?;
        let rest = encode(read, room);
        read = read.checked_add(rest.read)?;
        written = written.checked_add(rest.written)?;
    }
    if read != units || written > buf.len() {
        return None;
    }
    buf.truncate(written);
    String::from_utf8(buf).ok()
}

/// Whether a text of `units` UTF-16 units is surely longer than `max_bytes` bytes of UTF-8,
/// known from its JS length alone, before anything is copied into wasm: no unit encodes to
/// fewer than one byte (ASCII is one, a surrogate pair four for its two units, a lone
/// surrogate three as U+FFFD). A text within `max_bytes` units may still be longer in bytes;
/// the caller then copies it and measures.
pub fn surely_longer(units: usize, max_bytes: usize) -> bool {
    units > max_bytes
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `TextEncoder.encodeInto` over `text` (UTF-16 units) from unit `from`: whole characters
    /// while they fit, a lone surrogate as U+FFFD.
    fn model(text: &[u16], from: usize, room: &mut [u8]) -> Progress {
        let (mut read, mut written) = (0, 0);
        for c in char::decode_utf16(text[from..].iter().copied()) {
            let (c, n) = match c {
                Ok(c) => (c, c.len_utf16()),
                Err(_) => (char::REPLACEMENT_CHARACTER, 1),
            };
            let len = c.len_utf8();
            if written + len > room.len() {
                break;
            }
            c.encode_utf8(&mut room[written..written + len]);
            read += n;
            written += len;
        }
        Progress { read, written }
    }

    fn copy(text: &[u16]) -> (Option<String>, usize) {
        let mut calls = 0;
        let out = encode_resuming(text.len(), &mut |from, room| {
            calls += 1;
            model(text, from, room)
        });
        (out, calls)
    }

    #[test]
    fn ascii_takes_one_call_and_the_rest_one_more() {
        let ascii: Vec<u16> = "<p>hello</p>".encode_utf16().collect();
        assert_eq!(copy(&ascii), (Some("<p>hello</p>".to_owned()), 1));
        for text in ["é", "aé", "日本語のテキスト", "a😀b", "😀😀", "x€y😀z日"]
        {
            let units: Vec<u16> = text.encode_utf16().collect();
            assert_eq!(copy(&units), (Some(text.to_owned()), 2), "{text}");
        }
        assert_eq!(copy(&[]), (Some(String::new()), 1));
    }

    #[test]
    fn a_text_of_exactly_the_limit_is_not_surely_longer() {
        // ASCII: as many bytes as units, so the bound is exact.
        for n in [0usize, 1, 1024, 65536] {
            assert!(!surely_longer(n, n));
            assert!(surely_longer(n + 1, n));
        }
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        for (units, want) in [
            (vec![0xd800], "\u{fffd}"),
            (vec![0x61, 0xdc00, 0x62], "a\u{fffd}b"),
            (vec![0xd83d, 0x61], "\u{fffd}a"),
            (vec![0x61, 0xd83d], "a\u{fffd}"),
        ] {
            assert_eq!(copy(&units).0.as_deref(), Some(want));
        }
    }

    #[test]
    fn an_encoder_that_stops_short_gives_none() {
        // It reads nothing on the second call: the text is not all there.
        let mut calls = 0;
        let out = encode_resuming(4, &mut |_, room| {
            calls += 1;
            if calls == 1 {
                room[0] = b'a';
                Progress {
                    read: 1,
                    written: 1,
                }
            } else {
                Progress {
                    read: 0,
                    written: 0,
                }
            }
        });
        assert_eq!(out, None);
        // It claims more bytes than its room, or more units than the text.
        assert_eq!(
            encode_resuming(2, &mut |_, _| Progress {
                read: 2,
                written: 9
            }),
            None
        );
        assert_eq!(
            encode_resuming(2, &mut |_, _| Progress {
                read: 3,
                written: 2
            }),
            None
        );
        // It writes bytes that are not UTF-8.
        let out = encode_resuming(1, &mut |_, room| {
            room[0] = 0xff;
            Progress {
                read: 1,
                written: 1,
            }
        });
        assert_eq!(out, None);
    }

    fn unit() -> impl Strategy<Value = u16> {
        prop_oneof![
            4 => 0x20u16..0x7f,
            2 => 0x80u16..0x800,
            2 => 0x800u16..0xd800,
            1 => 0xd800u16..0xdc00,
            1 => 0xdc00u16..0xe000,
            1 => 0xe000u16..=0xffff,
        ]
    }

    proptest! {
        #[test]
        fn no_text_is_shorter_in_utf8_than_in_utf16(text in proptest::collection::vec(unit(), 0..200)) {
            let bytes = String::from_utf16_lossy(&text).len();
            prop_assert!(bytes >= text.len());
            // Never refused when it fits; refused whenever its units alone are over.
            prop_assert!(!surely_longer(text.len(), bytes));
            for max in 0..text.len() {
                prop_assert!(surely_longer(text.len(), max));
            }
        }

        #[test]
        fn the_copy_is_the_lossy_utf8_of_the_units(text in proptest::collection::vec(unit(), 0..200)) {
            let (out, calls) = copy(&text);
            prop_assert_eq!(out, Some(String::from_utf16_lossy(&text)));
            prop_assert!(calls <= 2);
        }
    }
}
