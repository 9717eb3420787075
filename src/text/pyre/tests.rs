use super::parse::{parse, At, Category, Item, Node, RepeatKind, IGNORECASE, MULTILINE, UNICODE, VERBOSE};
use super::*;

fn err(p: &str) -> (String, usize) {
    let e = parse(p, 0).unwrap_err();
    assert!(!e.unsupported, "{p}: {e:?}");
    (e.msg, e.pos)
}

fn findall(p: &str, flags: u32, t: &str) -> Vec<String> {
    let e = Engine::new(p, flags).unwrap();
    let mut s = e.searcher(false);
    let mut out = Vec::new();
    findall_steps(t, |pos, adv| {
        let m = s.find(t, pos, adv)?;
        out.push(t[m.0..m.1].to_string());
        Some(m)
    });
    out
}

fn kind(p: &str) -> ErrorKind {
    Engine::new(p, 0).unwrap_err().kind
}

#[test]
fn python_syntax_errors_and_positions() {
    assert_eq!(err("a{2}{3}"), ("multiple repeat".into(), 4));
    assert_eq!(err("a**"), ("multiple repeat".into(), 2));
    assert_eq!(err("*a"), ("nothing to repeat".into(), 0));
    assert_eq!(err("^*"), ("nothing to repeat".into(), 1));
    assert_eq!(err("(a"), ("missing ), unterminated subpattern".into(), 0));
    assert_eq!(err("[a"), ("unterminated character set".into(), 0));
    assert_eq!(err(r"\q"), ("bad escape \\q".into(), 0));
    assert_eq!(
        err("a(?i)"),
        ("global flags not at the start of the expression".into(), 1)
    );
    assert_eq!(err("a{3,2}"), ("min repeat greater than max repeat".into(), 2));
    assert_eq!(
        err(r"\N{NO SUCH NAME}"),
        ("undefined character name 'NO SUCH NAME'".into(), 0)
    );
    assert_eq!(err(r"(a)\2"), ("invalid group reference 2".into(), 4));
    assert_eq!(err(r"[z-a]"), ("bad character range z-a".into(), 1));
    assert_eq!(
        err(r"\400"),
        ("octal escape value \\400 outside of range 0-0o377".into(), 0)
    );
    assert_eq!(err(")"), ("unbalanced parenthesis".into(), 0));
    assert_eq!(
        err("(?P<a>x)(?P<a>y)").0,
        "redefinition of group name 'a' as group 2; was group 1"
    );
}

#[test]
fn python_grammar_trees() {
    let p = parse("a{,2}", 0).unwrap();
    assert!(matches!(
        p.node,
        Node::Repeat {
            min: 0,
            max: Some(2),
            kind: RepeatKind::Greedy,
            ..
        }
    ));
    assert_eq!(
        parse("a{3", 0).unwrap().node,
        Node::Seq(vec![Node::Lit(97), Node::Lit(123), Node::Lit(51)])
    );
    assert_eq!(
        parse("x{}", 0).unwrap().node,
        Node::Seq(vec![Node::Lit(120), Node::Lit(123), Node::Lit(125)])
    );
    assert!(matches!(
        parse("a?+", 0).unwrap().node,
        Node::Repeat {
            kind: RepeatKind::Possessive,
            ..
        }
    ));
    assert!(matches!(
        parse("a*?", 0).unwrap().node,
        Node::Repeat {
            kind: RepeatKind::Lazy,
            ..
        }
    ));
    // [[:alpha:]] is the set "[:alph" followed by "]"
    let Node::Seq(v) = parse("[[:alpha:]]", 0).unwrap().node else {
        panic!()
    };
    assert!(matches!(&v[0], Node::Set { negate: false, items } if items.len() == 8));
    assert_eq!(v[1], Node::Lit(']' as u32));
    assert_eq!(parse("[[]", 0).unwrap().node, Node::Lit('[' as u32));
    assert_eq!(
        parse("[]a]", 0).unwrap().node,
        Node::Set {
            negate: false,
            items: vec![Item::Lit(']' as u32), Item::Lit('a' as u32)]
        }
    );
    assert_eq!(
        parse(r"[^\d]", 0).unwrap().node,
        Node::Set {
            negate: true,
            items: vec![Item::Cat(Category::Digit)]
        }
    );
    assert_eq!(
        parse(r"\0\101\x41\u0041", 0).unwrap().node,
        Node::Seq(vec![Node::Lit(0), Node::Lit(65), Node::Lit(65), Node::Lit(65)])
    );
    assert_eq!(parse(r"\N{latin small letter a}", 0).unwrap().node, Node::Lit(97));
    assert_eq!(
        parse(r"\Z\A\b\B", 0).unwrap().node,
        Node::Seq(vec![
            Node::At(At::EndString),
            Node::At(At::BeginningString),
            Node::At(At::Boundary),
            Node::At(At::NonBoundary)
        ])
    );
    assert_eq!(parse("(?#x)a", 0).unwrap().node, Node::Lit(97));
    // verbose: whitespace and comments skipped, but not inside a set
    let p = parse("(?x) a [ ] # c\n b", 0).unwrap();
    assert_eq!(p.flags & VERBOSE, VERBOSE);
    assert_eq!(
        p.node,
        Node::Seq(vec![Node::Lit(97), Node::Lit(32), Node::Lit(98)])
    );
    let p = parse("(?im)a", 0).unwrap();
    assert_eq!(p.flags, IGNORECASE | MULTILINE | UNICODE);
    assert_eq!(parse("(a)(?P<n>b)", 0).unwrap().groups, 2);
}

#[test]
fn refusals_name_the_construct() {
    assert_eq!(kind(r"(a)\1"), ErrorKind::PatternUnsupported);
    assert_eq!(kind(r"(?P<x>a)(?P=x)"), ErrorKind::PatternUnsupported);
    assert_eq!(kind(r"a(?=b)"), ErrorKind::PatternUnsupported);
    assert_eq!(kind(r"(?<!a)b"), ErrorKind::PatternUnsupported);
    assert_eq!(kind(r"(a)?(?(1)b|c)"), ErrorKind::PatternUnsupported);
    assert_eq!(kind(r"(a*)*"), ErrorKind::PatternUnsupported);
    assert_eq!(kind(r"a*+a"), ErrorKind::PatternUnsupported);
    assert_eq!(kind(r"(?>a*)a"), ErrorKind::PatternUnsupported);
    // a syntax error later in the pattern wins, as in Python
    assert_eq!(kind(r"(a)\1("), ErrorKind::PatternSyntax);
    let msg = Engine::new(r"ab(?=c)", 0).unwrap_err().message;
    assert!(msg.contains("lookahead") && msg.contains("position 2"), "{msg}");
    let msg = Engine::new(r"(a)\1", 0).unwrap_err().message;
    assert!(msg.contains("backreference at position 3"), "{msg}");
}

#[test]
fn python_matching_rules() {
    assert_eq!(findall("a*?", 0, "aa"), ["", "a", "", "a", ""]);
    assert_eq!(findall(r"\b|\w+", 0, "a::bc"), ["", "a", "", "", "bc", ""]);
    assert_eq!(findall("a?+", 0, "aab"), ["a", "a", "", ""]);
    assert_eq!(findall("|a", 0, "a"), ["", "a", ""]);
    assert_eq!(findall("$", 0, "a\n"), ["", ""]);
    assert_eq!(findall(r"\B", 0, ""), Vec::<String>::new());
    assert_eq!(findall(r"\b\w+\b", 0, "x² e\u{301}"), ["x²", "e"]);
    assert_eq!(findall(r"(?a)\w+", 0, "héllo"), ["h", "llo"]);
    assert_eq!(findall("k", IGNORECASE, "kK\u{212A}"), ["k", "K", "\u{212A}"]);
    assert_eq!(findall("[a-z]", IGNORECASE, "İſ"), ["İ", "ſ"]);
    assert_eq!(findall("(?m)^a$", 0, "a\na\n"), ["a", "a"]);
    assert_eq!(findall("x*", 0, "abxd"), ["", "", "x", "", ""]);
}

#[test]
fn linear_time_on_pathological_input() {
    let t = format!("{}!", "a".repeat(5000));
    assert_eq!(findall(r"(?:a|aa)+!", 0, &t).len(), 1);
    assert_eq!(findall(r"(?:a|aa)+c", 0, &t).len(), 0);
    assert_eq!(findall(r"\b\w+\b", 0, &t).len(), 1);
}
