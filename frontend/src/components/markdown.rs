//! A small, safe Markdown renderer for replies: paragraphs, headings,
//! fenced code blocks (with a copy button), tables, inline code, bold,
//! italic, lists and links.
//!
//! [`parse`] turns text into [`Block`]s (plain, tested natively); the
//! [`Markdown`] component renders them as Leptos views, so every piece of
//! text is a text node: raw HTML in a reply shows as text, never as markup.
//! Links keep only `http:`, `https:` and `mailto:` targets; anything else
//! (`javascript:`, `data:` …) is shown as its text.

use crate::components::copy::CopyButton;
use leptos::prelude::*;

/// A run of text with its style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(Vec<Inline>),
    Em(Vec<Inline>),
    /// A link with a safe target.
    Link {
        href: String,
        text: Vec<Inline>,
    },
}

/// A block of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    Code {
        lang: String,
        text: String,
    },
    List {
        ordered: bool,
        items: Vec<Vec<Inline>>,
    },
    /// A pipe table: its header cells, then its rows.
    Table {
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
}

/// The cells of a table row `| a | b |` (`None` when it is not one).
fn table_cells(line: &str) -> Option<Vec<&str>> {
    let t = line.trim();
    let inner = t.strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    Some(inner.split('|').map(str::trim).collect())
}

/// A table's header separator: `|---|:---:|`.
fn is_table_rule(line: &str) -> bool {
    table_cells(line).is_some_and(|cells| {
        cells.iter().all(|c| {
            !c.is_empty() && c.contains('-') && c.chars().all(|ch| matches!(ch, '-' | ':' | ' '))
        })
    })
}

/// Whether a link target may be followed.
pub fn safe_href(href: &str) -> bool {
    let h = href.trim().to_ascii_lowercase();
    h.starts_with("http://") || h.starts_with("https://") || h.starts_with("mailto:")
}

fn list_item(line: &str) -> Option<(bool, &str)> {
    let t = line.trim_start();
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return Some((false, rest));
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits < 10 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((true, r));
        }
    }
    None
}

/// Splits `text` into blocks.
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut lines = text.lines().peekable();
    let flush = |para: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !para.is_empty() {
            blocks.push(Block::Paragraph(inline(&para.join("\n"))));
            para.clear();
        }
    };
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(lang) = trimmed.strip_prefix("```") {
            flush(&mut para, &mut blocks);
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                code.push(l);
            }
            blocks.push(Block::Code {
                lang: lang.trim().to_owned(),
                text: code.join("\n"),
            });
        } else if trimmed.is_empty() {
            flush(&mut para, &mut blocks);
        } else if let Some(head) =
            table_cells(line).filter(|_| lines.peek().is_some_and(|next| is_table_rule(next)))
        {
            flush(&mut para, &mut blocks);
            lines.next();
            let mut rows = Vec::new();
            while let Some(cells) = lines.peek().and_then(|next| table_cells(next)) {
                rows.push(cells.into_iter().map(inline).collect());
                lines.next();
            }
            blocks.push(Block::Table {
                head: head.into_iter().map(inline).collect(),
                rows,
            });
        } else if let Some((level, rest)) = heading(trimmed) {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Heading(level, inline(rest)));
        } else if let Some((ordered, first)) = list_item(line) {
            flush(&mut para, &mut blocks);
            let mut items = vec![inline(first)];
            while let Some(next) = lines.peek() {
                match list_item(next) {
                    Some((o, rest)) if o == ordered => {
                        items.push(inline(rest));
                        lines.next();
                    }
                    _ => break,
                }
            }
            blocks.push(Block::List { ordered, items });
        } else {
            para.push(line);
        }
    }
    flush(&mut para, &mut blocks);
    blocks
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&level) {
        line[level..]
            .strip_prefix(' ')
            .map(|rest| (level as u8, rest))
    } else {
        None
    }
}

/// Parses the inline styles of one block's text.
pub fn inline(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((nodes, used)) = styled(rest, c) {
            if !plain.is_empty() {
                out.push(Inline::Text(std::mem::take(&mut plain)));
            }
            out.extend(nodes);
            rest = &rest[used..];
        } else {
            plain.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !plain.is_empty() {
        out.push(Inline::Text(plain));
    }
    out
}

/// A styled run at the start of `rest` (which starts with `c`): its nodes
/// and how many bytes it took.
fn styled(rest: &str, c: char) -> Option<(Vec<Inline>, usize)> {
    match c {
        '`' => {
            let end = rest[1..].find('`')?;
            Some((vec![Inline::Code(rest[1..1 + end].to_owned())], end + 2))
        }
        '*' | '_' => {
            let double = if c == '*' { "**" } else { "__" };
            if let Some(after) = rest.strip_prefix(double) {
                let end = after.find(double).filter(|e| *e > 0)?;
                return Some((vec![Inline::Strong(inline(&after[..end]))], end + 4));
            }
            let after = &rest[1..];
            if after.starts_with(' ') {
                return None;
            }
            let end = after.find(c).filter(|e| *e > 0)?;
            Some((vec![Inline::Em(inline(&after[..end]))], end + 2))
        }
        '[' => {
            let close = rest.find("](")?;
            let end = rest[close + 2..].find(')')?;
            let label = inline(&rest[1..close]);
            let href = rest[close + 2..close + 2 + end].trim();
            let nodes = if safe_href(href) {
                vec![Inline::Link {
                    href: href.to_owned(),
                    text: label,
                }]
            } else {
                label
            };
            Some((nodes, close + 3 + end))
        }
        _ => None,
    }
}

fn render_inline(items: Vec<Inline>) -> AnyView {
    items
        .into_iter()
        .map(|i| match i {
            Inline::Text(t) => t.into_any(),
            Inline::Code(t) => view! { <code>{t}</code> }.into_any(),
            Inline::Strong(c) => view! { <strong>{render_inline(c)}</strong> }.into_any(),
            Inline::Em(c) => view! { <em>{render_inline(c)}</em> }.into_any(),
            Inline::Link { href, text } => view! {
                <a href=href target="_blank" rel="noopener noreferrer nofollow">{render_inline(text)}</a>
            }
            .into_any(),
        })
        .collect_view()
        .into_any()
}

/// A reply rendered from Markdown.
#[component]
pub fn Markdown(#[prop(into)] text: String) -> impl IntoView {
    parse(&text)
        .into_iter()
        .map(|b| match b {
            Block::Paragraph(i) => view! { <p>{render_inline(i)}</p> }.into_any(),
            Block::Heading(level, i) => match level {
                1 | 2 => view! { <h3>{render_inline(i)}</h3> }.into_any(),
                3 => view! { <h4>{render_inline(i)}</h4> }.into_any(),
                _ => view! { <h5>{render_inline(i)}</h5> }.into_any(),
            },
            Block::Code { lang, text } => view! {
                <div class="md-codeblock">
                    <div class="md-codeblock__bar">
                        <span>{lang.clone()}</span>
                        <CopyButton text=text.clone() label="Copy code" />
                    </div>
                    <pre class="md-code" data-lang=lang tabindex="0"><code>{text}</code></pre>
                </div>
            }
            .into_any(),
            Block::Table { head, rows } => view! {
                <div class="md-table" tabindex="0" role="region" aria-label="Table">
                    <table>
                        <thead>
                            <tr>{head.into_iter().map(|c| view! { <th scope="col">{render_inline(c)}</th> }).collect_view()}</tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|r| view! {
                                    <tr>{r.into_iter().map(|c| view! { <td>{render_inline(c)}</td> }).collect_view()}</tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any(),
            Block::List { ordered, items } => {
                let items = items
                    .into_iter()
                    .map(|i| view! { <li>{render_inline(i)}</li> })
                    .collect_view();
                if ordered {
                    view! { <ol>{items}</ol> }.into_any()
                } else {
                    view! { <ul>{items}</ul> }.into_any()
                }
            }
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_tables_have_a_head_and_rows() {
        let blocks = parse(
            "Planets:\n\n| Name | Moons |\n|---|--:|\n| Earth | 1 |\n| Mars | **2** |\nAfter",
        );
        let Block::Table { head, rows } = &blocks[1] else {
            panic!("{blocks:?}");
        };
        assert_eq!(head[1], vec![Inline::Text("Moons".into())]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1][1],
            vec![Inline::Strong(vec![Inline::Text("2".into())])]
        );
        assert!(matches!(&blocks[2], Block::Paragraph(_)));
        // A line with a pipe but no rule under it stays text.
        assert!(matches!(
            &parse("| not a table |\nplain")[0],
            Block::Paragraph(_)
        ));
    }

    fn t(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    #[test]
    fn inline_styles_nest_and_plain_text_stays_plain() {
        assert_eq!(
            inline("a **bold _and_ more** `x<y>` *it*"),
            vec![
                t("a "),
                Inline::Strong(vec![t("bold "), Inline::Em(vec![t("and")]), t(" more")]),
                t(" "),
                Inline::Code("x<y>".into()),
                t(" "),
                Inline::Em(vec![t("it")]),
            ]
        );
        assert_eq!(inline("2 * 3 = 6"), vec![t("2 * 3 = 6")]);
        assert_eq!(
            inline("<script>alert(1)</script>"),
            vec![t("<script>alert(1)</script>")]
        );
    }

    #[test]
    fn only_safe_links_are_links() {
        assert_eq!(
            inline("see [docs](https://example.com) or [me](mailto:a@b.c)"),
            vec![
                t("see "),
                Inline::Link {
                    href: "https://example.com".into(),
                    text: vec![t("docs")]
                },
                t(" or "),
                Inline::Link {
                    href: "mailto:a@b.c".into(),
                    text: vec![t("me")]
                },
            ]
        );
        assert_eq!(
            inline("[click](javascript:alert(1))"),
            vec![t("click"), t(")")]
        );
        assert_eq!(inline("[x](data:text/html,hi)"), vec![t("x")]);
        assert!(!safe_href(" JavaScript:alert(1)"));
    }

    #[test]
    fn blocks_are_paragraphs_headings_code_and_lists() {
        let md = "# Title\n\nFirst line\nsecond line\n\n```rust\nfn main() {}\n<b>\n```\n- one\n- **two**\n\n1. a\n2. b\n";
        assert_eq!(
            parse(md),
            vec![
                Block::Heading(1, vec![t("Title")]),
                Block::Paragraph(vec![t("First line\nsecond line")]),
                Block::Code {
                    lang: "rust".into(),
                    text: "fn main() {}\n<b>".into()
                },
                Block::List {
                    ordered: false,
                    items: vec![vec![t("one")], vec![Inline::Strong(vec![t("two")])]]
                },
                Block::List {
                    ordered: true,
                    items: vec![vec![t("a")], vec![t("b")]]
                },
            ]
        );
        // An unclosed fence (a reply still streaming) holds the rest as code.
        assert_eq!(
            parse("```\nlet x"),
            vec![Block::Code {
                lang: String::new(),
                text: "let x".into()
            }]
        );
    }
}
