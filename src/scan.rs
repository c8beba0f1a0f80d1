//! Byte searches that never ask the CPU what it has.
//!
//! memchr's top-level functions detect AVX2 on their first call, with
//! several `cpuid` instructions. In a virtual machine each one traps to the
//! hypervisor: about 30 µs in all, paid by every `grpcx call` that reads its
//! input, more than scanning a call's input takes. These use memchr's SSE2
//! searchers on x86_64 (SSE2 is part of x86_64) and its portable
//! word-at-a-time ones elsewhere: no detection, on any machine.

#[cfg(target_arch = "x86_64")]
mod arch {
    use memchr::arch::x86_64::sse2::memchr::{One, Two};

    pub fn one(needle: u8) -> One {
        One::new(needle).expect("SSE2 is part of x86_64")
    }

    pub fn two(a: u8, b: u8) -> Two {
        Two::new(a, b).expect("SSE2 is part of x86_64")
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod arch {
    use memchr::arch::all::memchr::{One, Two};

    pub fn one(needle: u8) -> One {
        One::new(needle)
    }

    pub fn two(a: u8, b: u8) -> Two {
        Two::new(a, b)
    }
}

/// The first `needle` in `haystack`.
pub fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
    arch::one(needle).find(haystack)
}

/// The last `needle` in `haystack`.
pub fn rfind(needle: u8, haystack: &[u8]) -> Option<usize> {
    arch::one(needle).rfind(haystack)
}

/// How many times `needle` is in `haystack`.
pub fn count(needle: u8, haystack: &[u8]) -> usize {
    arch::one(needle).count(haystack)
}

/// The first `a` or `b` in `haystack`.
pub fn find2(a: u8, b: u8, haystack: &[u8]) -> Option<usize> {
    arch::two(a, b).find(haystack)
}

/// Whether `needle` is in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::arch::all::twoway::Finder::new(needle)
        .find(haystack, needle)
        .is_some()
}

/// The text between each `[` and the `]` after it, trimmed; a span that is
/// not UTF-8 is passed over.
pub fn bracketed(bytes: &[u8]) -> impl Iterator<Item = &str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let open = at + find(b'[', &bytes[at..])?;
            let rest = &bytes[open + 1..];
            let close = find(b']', rest)?;
            at = open + 1;
            if let Ok(text) = std::str::from_utf8(&rest[..close]) {
                return Some(text.trim());
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_a_plain_scan_does() {
        let text = b"ab\ncd\"e\\f\n[ x.Y ] [\xff] [a/b]tail[open";
        let plain = |n: u8| text.iter().position(|&b| b == n);
        for n in [b'\n', b'"', b'\\', b'[', b']', b'z'] {
            assert_eq!(find(n, text), plain(n));
            assert_eq!(rfind(n, text), text.iter().rposition(|&b| b == n));
            assert_eq!(count(n, text), text.iter().filter(|&&b| b == n).count());
        }
        assert_eq!(find2(b'"', b'\\', text), Some(5));
        assert!(contains(text, b"cd\"e") && !contains(text, b"ce"));
        let names: Vec<&str> = bracketed(text).collect();
        assert_eq!(names, ["x.Y", "a/b"]);
    }
}
