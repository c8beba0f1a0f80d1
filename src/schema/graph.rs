//! Walks over the schema's two graphs, shared by the loaders and checks:
//! files in the order of their imports (the fast loader's batches, the
//! validator's import-cycle check, the files `--protoset-out` and the cache
//! write; the imports a file sees), and the message types a type reaches
//! through its fields (extension ranges to fetch, Any, the cached schema's
//! check of a request type).

use std::collections::HashSet;
use std::hash::Hash;

use prost_reflect::MessageDescriptor;

/// Every file after the files it imports, depth first from `starts`; a file
/// `imports` does not know is a leaf. An import cycle is the error, as the
/// names along it (validate.rs words it; fastload leaves it to protox).
pub fn dependency_order<'a>(
    starts: impl IntoIterator<Item = &'a str>,
    imports: impl Fn(&str) -> &'a [String],
) -> Result<Vec<&'a str>, Vec<String>> {
    let mut order = Vec::new();
    let mut done: HashSet<&str> = HashSet::new();
    let mut open: HashSet<&str> = HashSet::new();
    // An explicit stack: a chain of thousands of imports must not recurse.
    for start in starts {
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some((file, next)) = stack.pop() {
            if next == 0 {
                if done.contains(file) {
                    continue;
                }
                if !open.insert(file) {
                    let path = stack.iter().map(|(n, _)| n.to_string());
                    let mut cycle: Vec<String> = path.skip_while(|n| n != file).collect();
                    cycle.push(file.to_string());
                    return Err(cycle);
                }
            }
            if let Some(dep) = imports(file).get(next) {
                stack.push((file, next + 1));
                if !done.contains(dep.as_str()) {
                    stack.push((dep.as_str(), 0));
                }
            } else {
                open.remove(file);
                done.insert(file);
                order.push(file);
            }
        }
    }
    Ok(order)
}

/// The nodes met from `stack`, each once (told apart by `key`), depth
/// first, `next` pushing each node's successors. Lazy, so that a search
/// ends where it finds what it looks for.
pub fn walk<T, K: Eq + Hash>(
    mut stack: Vec<T>,
    key: impl Fn(&T) -> K,
    next: impl Fn(&T, &mut Vec<T>),
) -> impl Iterator<Item = T> {
    let mut seen = HashSet::new();
    std::iter::from_fn(move || {
        while let Some(node) = stack.pop() {
            if seen.insert(key(&node)) {
                next(&node, &mut stack);
                return Some(node);
            }
        }
        None
    })
}

/// The message types reachable from `roots` through message fields, the
/// roots included, each once, in the order met (depth first).
pub fn reachable(roots: &[MessageDescriptor]) -> impl Iterator<Item = MessageDescriptor> {
    let inner = |message: &MessageDescriptor, stack: &mut Vec<MessageDescriptor>| {
        stack.extend(
            message
                .fields()
                .filter_map(|f| f.kind().as_message().cloned()),
        )
    };
    walk(roots.to_vec(), |m| m.full_name().to_string(), inner)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn dependencies_come_first_and_cycles_fall_back() {
        let imports: HashMap<String, Vec<String>> = [
            ("top", vec!["a", "b"]),
            ("a", vec!["b", "c"]),
            ("b", vec!["c"]),
            ("c", vec![]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
        let order = |imports: &HashMap<String, Vec<String>>| {
            dependency_order(["top"], |f| &imports[f][..]).map(|o| o.join(" "))
        };
        assert_eq!(order(&imports).unwrap(), "c b a top");
        let mut cyclic = imports.clone();
        cyclic.insert("c".into(), vec!["top".into()]);
        assert_eq!(order(&cyclic).unwrap_err(), ["top", "a", "b", "c", "top"]);
    }
}
