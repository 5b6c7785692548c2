//! No import cycles between the modules of a crate: every `crate::` and
//! `super::` path in a module's code (its `use` lines and paths written
//! inline) is an arrow to the module it names, and the arrows of a crate
//! must form no circle. When two modules share a type, the type moves down
//! into a third, small module. A module's arrows to its own parent or
//! children are not counted (`mod.rs` declares its children), and a name
//! that `lib.rs` or a `mod.rs` re-exports counts as an arrow to the module
//! that defines it.
//!
//! The crates listed in `ACYCLIC` hold the rule today; a crate joins the
//! list when its last cycle is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ACYCLIC: [&str; 16] = [
    "common",
    "store",
    "pop3",
    "smtp",
    "queue",
    "mailauth",
    "imap",
    "manage",
    "tern",
    "http",
    "managesieve",
    "filter",
    "dav",
    "acme",
    "admin",
    "mime",
];

type Module = Vec<String>;

/// Every `.rs` file under `src`, by module path (`lib.rs` is `[]`).
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.insert(module_of(src, &path), code_of(&path));
            }
        }
    }
    out
}

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut m: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if m.last().is_some_and(|l| l == "mod") || m == ["lib"] || m == ["main"] {
        m.pop();
    }
    m
}

/// The file without its comments (string contents are kept; a path in a
/// string is rare enough not to matter here).
fn code_of(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths written after each `crate::` or `super::`, braces expanded one
/// level deep (`crate::{a::X, b::Y}` is `a::X` and `b::Y`), with `super`
/// resolved against `here`.
fn paths_in(code: &str, here: &Module) -> Vec<Module> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base: Module = if start == "crate::" {
                Vec::new()
            } else {
                here[..here.len().saturating_sub(1)].to_vec()
            };
            let rest = &code[from..];
            let mut segs = segments(rest);
            while segs.first().is_some_and(|s| s == "super") {
                segs.remove(0);
                base.pop();
            }
            let after: usize = segs.iter().map(|s| s.len() + 2).sum();
            let group = rest.get(after..).filter(|r| r.starts_with('{'));
            match group {
                Some(g) => {
                    let inner = &g[1..g.find('}').unwrap_or(g.len())];
                    for item in inner.split(',') {
                        let mut p = base.clone();
                        p.extend(segs.iter().cloned());
                        p.extend(segments(item.trim()));
                        out.push(p);
                    }
                }
                None => {
                    base.extend(segs);
                    out.push(base);
                }
            }
        }
    }
    out
}

/// `a::b::C` → `["a", "b", "C"]`, stopping at anything else.
fn segments(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

/// `pub use x::Name;` in a module: `Name` there is really `x`'s.
fn reexports(mods: &BTreeMap<Module, String>) -> BTreeMap<(Module, String), Module> {
    let mut out = BTreeMap::new();
    for (m, code) in mods {
        for line in code.lines().map(str::trim) {
            let Some(rest) = line
                .strip_prefix("pub use ")
                .or_else(|| line.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let rest = rest.strip_prefix("self::").unwrap_or(rest);
            let Some((first, names)) = rest.split_once("::") else {
                continue;
            };
            let mut target = m.clone();
            target.push(first.to_string());
            if !mods.contains_key(&target) {
                continue;
            }
            for name in names.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if !name.is_empty() {
                    out.insert((m.clone(), name.to_string()), target.clone());
                }
            }
        }
    }
    out
}

/// The arrows between modules of the crate at `src`.
fn arrows(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mods = modules(src);
    let re = reexports(&mods);
    let mut out: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, code) in &mods {
        for path in paths_in(code, m) {
            let Some(n) = (1..=path.len())
                .rev()
                .find(|n| mods.contains_key(&path[..*n]))
            else {
                continue;
            };
            let mut target = path[..n].to_vec();
            if let Some(name) = path.get(n)
                && let Some(t) = re.get(&(target.clone(), name.clone()))
            {
                target = t.clone();
            }
            let related = target.starts_with(m) || m.starts_with(&target);
            if !related {
                out.entry(m.clone()).or_default().insert(target);
            }
        }
    }
    out
}

/// One cycle, if any: depth-first with an explicit stack.
fn find_cycle(arrows: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    let mut done: BTreeSet<&Module> = BTreeSet::new();
    for root in arrows.keys() {
        let mut path: Vec<&Module> = Vec::new();
        let mut stack: Vec<(&Module, bool)> = vec![(root, false)];
        while let Some((m, leaving)) = stack.pop() {
            if leaving {
                path.pop();
                done.insert(m);
                continue;
            }
            if let Some(i) = path.iter().position(|p| *p == m) {
                return Some(path[i..].iter().map(|m| (*m).clone()).collect());
            }
            if done.contains(m) {
                continue;
            }
            path.push(m);
            stack.push((m, true));
            for next in arrows.get(m).into_iter().flatten() {
                stack.push((next, false));
            }
        }
    }
    None
}

#[test]
fn crates_have_no_import_cycles() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in ACYCLIC {
        let src = crates.join(name).join("src");
        let arrows = arrows(&src);
        // The scanner must see arrows in any crate of some size (a crate
        // of three modules, like acme, may well have none).
        let edges: usize = arrows.values().map(|to| to.len()).sum();
        assert!(
            edges >= 3 || modules(&src).len() <= 3,
            "{name}: no arrows found: {arrows:?}"
        );
        if let Some(cycle) = find_cycle(&arrows) {
            let names: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
            panic!("{name}: import cycle {}", names.join(" → "));
        }
    }
}

/// The checker sees a cycle when there is one.
#[test]
fn a_cycle_is_found() {
    let m = |s: &str| vec![s.to_string()];
    let arrows = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b")])),
        (m("b"), BTreeSet::from([m("c")])),
        (m("c"), BTreeSet::from([m("a")])),
    ]);
    assert!(find_cycle(&arrows).is_some());
    let arrows = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b"), m("c")])),
        (m("b"), BTreeSet::from([m("c")])),
    ]);
    assert_eq!(find_cycle(&arrows), None);
    let code = "use crate::{a::X, b::Y};\nlet z = super::c::Z;\n";
    assert_eq!(
        paths_in(code, &vec!["d".to_string(), "e".to_string()]),
        vec![
            vec!["a".to_string(), "X".to_string()],
            vec!["b".to_string(), "Y".to_string()],
            vec!["d".to_string(), "c".to_string(), "Z".to_string()],
        ]
    );
}
