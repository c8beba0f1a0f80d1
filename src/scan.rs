//! Byte searches that never ask the CPU what it has: memchr's top-level
//! functions detect AVX2 on their first call with `cpuid`, which traps to
//! the hypervisor in a virtual machine, at a cost that every call reading
//! its input paid (README.md has the measurements). These use memchr's SSE2
//! searchers on x86_64 (SSE2 is part of x86_64, known when compiling) and
//! its portable word-at-a-time ones otherwise: no detection, on any machine.

use memchr::arch::all::memchr as portable;
#[cfg(target_arch = "x86_64")]
use memchr::arch::x86_64::sse2::memchr as sse2;

/// The first `needle` in `haystack`.
pub fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(one) = sse2::One::new(needle) {
        return one.find(haystack);
    }
    portable::One::new(needle).find(haystack)
}

/// The last `needle` in `haystack`.
pub fn rfind(needle: u8, haystack: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(one) = sse2::One::new(needle) {
        return one.rfind(haystack);
    }
    portable::One::new(needle).rfind(haystack)
}

/// How many times `needle` is in `haystack`.
pub fn count(needle: u8, haystack: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if let Some(one) = sse2::One::new(needle) {
        return one.count(haystack);
    }
    portable::One::new(needle).count(haystack)
}

/// The first `a` or `b` in `haystack`.
pub fn find2(a: u8, b: u8, haystack: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(two) = sse2::Two::new(a, b) {
        return two.find(haystack);
    }
    portable::Two::new(a, b).find(haystack)
}

/// Whether `needle` is in `haystack`: SSE2's packed pairs (a fifth of
/// the time of the portable Two-Way on 32 MB of JSON) where the haystack is
/// long enough for them.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(finder) = memchr::arch::x86_64::sse2::packedpair::Finder::new(needle)
        && haystack.len() >= finder.min_haystack_len()
    {
        return finder.find(haystack, needle).is_some();
    }
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
        // Short and long, so that the vector loops run, not only the tails.
        let long = [&b"x".repeat(70)[..], text, &b"y".repeat(90)[..], text].concat();
        for hay in [&text[..], &long[..]] {
            for n in [b'\n', b'"', b'\\', b'[', b']', b'z'] {
                assert_eq!(find(n, hay), hay.iter().position(|&b| b == n));
                assert_eq!(rfind(n, hay), hay.iter().rposition(|&b| b == n));
                assert_eq!(count(n, hay), hay.iter().filter(|&&b| b == n).count());
            }
            let quote_or_slash = hay.iter().position(|&b| b == b'"' || b == b'\\');
            assert_eq!(find2(b'"', b'\\', hay), quote_or_slash);
            assert!(contains(hay, b"cd\"e") && !contains(hay, b"ce"));
            assert!(contains(hay, b"[open") && contains(hay, b"n") && contains(hay, b""));
        }
        let names: Vec<&str> = bracketed(text).collect();
        assert_eq!(names, ["x.Y", "a/b"]);
        // The first copy's `[open` runs to the second copy's first `]`.
        assert_eq!(bracketed(&long).count(), 5);
    }
}
