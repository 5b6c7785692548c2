//! THREAD=REFERENCES (RFC 5256 4, after Zawinski): messages linked by
//! their References and In-Reply-To ids into trees, grouped by base
//! subject, ordered by sent date. Pure functions over [`Info`].
//!
//! The rule: no thread is built deeper than [`MAX_THREAD_DEPTH`] (the
//! walks after linking recurse on the tree), and a message's references
//! are at most [`MAX_REFERENCES`](crate::order::MAX_REFERENCES).

use std::collections::HashMap;

use crate::order::{Info, MAX_REFERENCES, Thread};

/// The deepest thread REFERENCES builds. Messages can chain replies (or
/// one message list references) without end, and the steps after the
/// first walk the tree recursively; tern departs from RFC 5256 here: a
/// reply that would sit deeper starts a thread of its own.
pub const MAX_THREAD_DEPTH: usize = 256;

/// A container of the REFERENCES algorithm (RFC 5256 4, after
/// Zawinski): indexes into `Info` and into the container table.
#[derive(Default)]
struct Container {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Table {
    nodes: Vec<Container>,
    by_id: HashMap<String, usize>,
}

impl Table {
    fn get(&mut self, id: &str) -> usize {
        if let Some(i) = self.by_id.get(id) {
            return *i;
        }
        self.nodes.push(Container::default());
        let i = self.nodes.len() - 1;
        self.by_id.insert(id.to_string(), i);
        i
    }

    /// Whether `a` is `b` or one of `b`'s ancestors; also true when `b`
    /// is more than [`MAX_THREAD_DEPTH`] deep, so that no link is made
    /// there and the walk costs at most that many steps.
    fn is_ancestor(&self, a: usize, b: usize) -> bool {
        let mut n = Some(b);
        let mut steps = 0;
        while let Some(i) = n {
            if i == a {
                return true;
            }
            steps += 1;
            if steps > MAX_THREAD_DEPTH {
                return true;
            }
            n = self.nodes[i].parent;
        }
        false
    }

    /// Makes every container deeper than [`MAX_THREAD_DEPTH`] a root
    /// (links made in step 1 can still stack subtrees deeper), with an
    /// explicit stack.
    fn cut_deep(&mut self) {
        let mut stack: Vec<(usize, usize)> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].parent.is_none())
            .map(|i| (i, 0))
            .collect();
        while let Some((i, depth)) = stack.pop() {
            if depth + 1 < MAX_THREAD_DEPTH {
                stack.extend(self.nodes[i].children.iter().map(|&c| (c, depth + 1)));
                continue;
            }
            for c in std::mem::take(&mut self.nodes[i].children) {
                self.nodes[c].parent = None;
                stack.push((c, 0));
            }
        }
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|c| *c != child);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }
}

/// THREAD=REFERENCES (RFC 5256 4).
pub fn references(messages: &[Info]) -> Vec<Thread> {
    let mut t = Table {
        nodes: Vec::new(),
        by_id: HashMap::new(),
    };
    // Step 1.
    for (m, info) in messages.iter().enumerate() {
        // A message without a Message-ID, or with one already taken, gets
        // a unique one (step 1 A).
        let own = match &info.message_id {
            Some(id)
                if t.by_id
                    .get(id)
                    .is_none_or(|c| t.nodes[*c].message.is_none()) =>
            {
                id.clone()
            }
            _ => format!("\u{0}{m}"),
        };
        let me = t.get(&own);
        t.nodes[me].message = Some(m);
        // Step 1 B: link the references in order, parent before child,
        // unless already linked or that would make a loop.
        let mut prev: Option<usize> = None;
        let skip = info.references.len().saturating_sub(MAX_REFERENCES);
        for r in &info.references[skip..] {
            let c = t.get(r);
            if let Some(p) = prev
                && t.nodes[c].parent.is_none()
                && !t.is_ancestor(c, p)
            {
                t.link(p, c);
            }
            prev = Some(c);
        }
        // Step 1 C: the message's parent is its last reference.
        t.unlink(me);
        if let Some(p) = prev
            && !t.is_ancestor(me, p)
        {
            t.link(p, me);
        }
    }
    // The steps below recurse on the depth of the tree.
    t.cut_deep();
    // Step 2: the root set.
    let roots: Vec<usize> = (0..t.nodes.len())
        .filter(|i| t.nodes[*i].parent.is_none())
        .collect();
    // Step 3: prune placeholders.
    let mut threads: Vec<Thread> = roots.into_iter().flat_map(|r| prune(&t, r, true)).collect();
    // Step 4: sort the root set and every list of children by sent date.
    let date = |th: &Thread| thread_date(th, messages);
    sort_tree(&mut threads, &date);
    // Step 5: gather threads whose roots share a base subject.
    let mut threads = group_by_subject(threads, messages);
    sort_tree(&mut threads, &date);
    renumber(&mut threads, messages);
    threads
}

/// Step 3: a placeholder without children goes; one with children gives
/// them to its parent, except at the root level where it stays when it
/// has more than one child.
fn prune(t: &Table, i: usize, at_root: bool) -> Vec<Thread> {
    let node = &t.nodes[i];
    let children: Vec<Thread> = node
        .children
        .iter()
        .flat_map(|c| prune(t, *c, false))
        .collect();
    match node.message {
        Some(_) => vec![Thread {
            id: node.message.map(|m| m as u32),
            children,
        }],
        None if children.is_empty() => Vec::new(),
        None if at_root && children.len() > 1 => vec![Thread { id: None, children }],
        None => children,
    }
}

/// The sent date of a thread: its message's, or for a placeholder that of
/// its first child (after sorting), RFC 5256 4 step 4.
fn thread_date(t: &Thread, messages: &[Info]) -> (i64, u32) {
    match t.id {
        Some(m) => {
            let info = &messages[m as usize];
            (info.sent, info.id)
        }
        None => t
            .children
            .iter()
            .map(|c| thread_date(c, messages))
            .min()
            .unwrap_or((i64::MAX, u32::MAX)),
    }
}

fn sort_tree(threads: &mut [Thread], date: &dyn Fn(&Thread) -> (i64, u32)) {
    for t in threads.iter_mut() {
        sort_tree(&mut t.children, date);
    }
    threads.sort_by_key(|t| date(t));
}

fn subject_of(t: &Thread, messages: &[Info]) -> (String, bool) {
    match t.id {
        Some(m) => {
            let i = &messages[m as usize];
            (i.subject.clone(), i.is_reply)
        }
        None => t
            .children
            .first()
            .map_or((String::new(), false), |c| subject_of(c, messages)),
    }
}

/// Step 5: merge root-level threads with the same base subject.
fn group_by_subject(threads: Vec<Thread>, messages: &[Info]) -> Vec<Thread> {
    // 5 B: the container each subject is filed under: a placeholder, else
    // one that is not a reply.
    let mut table: HashMap<String, usize> = HashMap::new();
    for (i, t) in threads.iter().enumerate() {
        let (subject, _) = subject_of(t, messages);
        if subject.is_empty() {
            continue;
        }
        match table.get(&subject) {
            None => {
                table.insert(subject, i);
            }
            Some(&old) => {
                let o = &threads[old];
                let (_, old_reply) = subject_of(o, messages);
                let (_, new_reply) = subject_of(t, messages);
                if (t.id.is_none() && o.id.is_some()) || (old_reply && !new_reply) {
                    table.insert(subject, i);
                }
            }
        }
    }
    // 5 C: merge every other root with that subject into the chosen one.
    let mut slots: Vec<Option<Thread>> = threads.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        let Some(t) = &slots[i] else { continue };
        let (subject, is_reply) = subject_of(t, messages);
        let Some(&target) = table.get(&subject) else {
            continue;
        };
        if target == i {
            continue;
        }
        let Some(this) = slots[i].take() else {
            continue;
        };
        let Some(mut dest) = slots[target].take() else {
            slots[i] = Some(this);
            continue;
        };
        let dest_reply = subject_of(&dest, messages).1;
        match (dest.id.is_none(), this.id.is_none()) {
            // Both placeholders: the children of one join the other.
            (true, true) => dest.children.extend(this.children),
            // A placeholder collects the other as a child.
            (true, false) => dest.children.push(this),
            (false, true) => {
                let mut this = this;
                this.children.push(dest);
                dest = this;
            }
            // Two messages: a reply goes under a non-reply; otherwise both
            // become children of a new placeholder.
            (false, false) if is_reply && !dest_reply => dest.children.push(this),
            (false, false) => {
                dest = Thread {
                    id: None,
                    children: vec![dest, this],
                };
            }
        }
        slots[target] = Some(dest);
    }
    slots.into_iter().flatten().collect()
}

/// Thread ids are indexes into the message list while threading; the
/// reply wants the messages' own numbers.
fn renumber(threads: &mut [Thread], messages: &[Info]) {
    for t in threads {
        if let Some(i) = t.id {
            t.id = messages.get(i as usize).map(|m| m.id);
        }
        renumber(&mut t.children, messages);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{base_subject, render};

    fn info(id: u32, sent: i64, subject: &str, mid: &str, refs: &[&str]) -> Info {
        let (subject, is_reply) = base_subject(subject);
        Info {
            id,
            arrival: sent,
            sent,
            subject,
            is_reply,
            message_id: (!mid.is_empty()).then(|| mid.to_string()),
            references: refs.iter().map(|r| r.to_string()).collect(),
            ..Info::default()
        }
    }

    fn threads(msgs: &[Info], f: fn(&[Info]) -> Vec<Thread>) -> String {
        render(&f(msgs))
    }

    #[test]
    fn references_threads() {
        let m = [
            info(1, 10, "Plan", "<a>", &[]),
            info(2, 20, "Re: Plan", "<b>", &["<a>"]),
            info(3, 30, "Re: Plan", "<c>", &["<a>", "<b>"]),
            info(4, 25, "Re: Plan", "<d>", &["<a>"]),
            info(5, 5, "Other", "<e>", &[]),
        ];
        assert_eq!(threads(&m, references), "(5)(1 (2 3)(4))");
    }

    #[test]
    fn missing_parent_becomes_a_placeholder_only_when_it_joins_two() {
        // <x> is not in the mailbox; two replies to it share a placeholder.
        let m = [
            info(1, 10, "Re: Lost", "<a>", &["<x>"]),
            info(2, 20, "Re: Lost", "<b>", &["<x>"]),
            info(3, 30, "Single", "<c>", &["<y>"]),
        ];
        assert_eq!(threads(&m, references), "((1)(2))(3)");
    }

    #[test]
    fn same_subject_without_references_is_grouped() {
        let m = [
            info(1, 10, "Party", "<a>", &[]),
            info(2, 20, "Re: Party", "<b>", &[]),
        ];
        assert_eq!(threads(&m, references), "(1 2)");
    }

    #[test]
    fn loops_and_duplicate_ids_are_survived() {
        let m = [
            info(1, 10, "A", "<a>", &["<b>"]),
            info(2, 20, "B", "<b>", &["<a>"]),
            info(3, 30, "C", "<a>", &[]),
            info(4, 40, "D", "", &["<a>", "<a>"]),
        ];
        let t = threads(&m, references);
        for id in ["1", "2", "3", "4"] {
            assert_eq!(t.matches(id).count(), 1, "{t}");
        }
    }

    /// Runs `f` on a thread with a tokio worker's stack (2 MiB).
    fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn a_reply_chain_of_any_length_threads_within_the_depth_limit() {
        // Each message answers the one before: 20,000 levels.
        let n = 20_000u32;
        let msgs: Vec<Info> = (1..=n)
            .map(|i| {
                let prev = format!("<{}>", i - 1);
                let refs: Vec<&str> = if i > 1 { vec![&prev] } else { vec![] };
                info(i, i as i64, "Re: long", &format!("<{i}>"), &refs)
            })
            .collect();
        let t = on_worker_stack(move || render(&references(&msgs)));
        // Every message is listed once.
        let mut ids: Vec<u32> = t
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=n).collect::<Vec<_>>());
        // Nesting in the reply stays bounded.
        let (mut depth, mut max) = (0usize, 0usize);
        for c in t.bytes() {
            match c {
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            max = max.max(depth);
        }
        assert!(max <= MAX_THREAD_DEPTH + 2, "{max}");
    }

    #[test]
    fn a_message_with_thousands_of_references_threads() {
        let refs: Vec<String> = (0..40_000).map(|i| format!("<r{i}>")).collect();
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        let msgs = vec![
            info(1, 1, "x", "<m>", &refs),
            info(2, 2, "y", "<r39999>", &[]),
        ];
        let t = on_worker_stack(move || render(&references(&msgs)));
        assert!(t.contains('1') && t.contains('2'), "{t}");
    }
}
