//! Test support shared by unit tests: a small seeded random generator, so a
//! failing generated case repeats from its seed, and a pool compiled from
//! .proto sources.

/// A pool of `files` (name, source), compiled by protox from a temporary
/// directory, with the well-known types they import.
pub(crate) fn compile(files: &[(&str, &str)]) -> prost_reflect::DescriptorPool {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in files {
        std::fs::write(dir.path().join(name), source).unwrap();
    }
    let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    compiler
        .open_files(files.iter().map(|(name, _)| name))
        .unwrap();
    compiler.descriptor_pool()
}

/// xorshift64*: seeded, deterministic, good enough to generate test inputs.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An index into something `len` long.
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// True one time in `one_in`.
    pub(crate) fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}
