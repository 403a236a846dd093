//! `throttle = "5/10s"` and `throttle_scope = "uploads"`: the rate is parsed
//! here, when the crate compiles, so that a bad one is an error at its
//! literal and the expansion holds two numbers, not a string to parse.
//!
//! The grammar is the runtime's `Rate` (`rest_channels::throttle::Rate`),
//! whose `FromStr` says the same things; the tests of both crates hold the
//! same cases.

use syn::LitStr;

/// A parsed rate: calls per period, the period in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rate {
    pub(crate) requests: u32,
    pub(crate) seconds: u64,
}

/// A `throttle = "..."` option: the rate and its literal.
pub(crate) struct RateOpt {
    pub(crate) rate: Rate,
    pub(crate) lit: LitStr,
}

/// The longest period: a year (as the runtime).
const MAX_SECONDS: u64 = 366 * 86_400;

/// Parses `"<requests>/<count?><unit>"`; the error says why it does not.
pub(crate) fn parse_rate(s: &str) -> Result<Rate, &'static str> {
    let (requests, period) = s.split_once('/').ok_or("no `/`")?;
    let requests: u32 = digits(requests)
        .ok_or("the number of requests is not a whole number")?
        .try_into()
        .map_err(|_| "too many requests")?;
    if requests == 0 {
        return Err("a rate allows at least one request");
    }
    let unit_at = period
        .find(|c: char| !c.is_ascii_digit())
        .ok_or("the period has no unit")?;
    let (count, unit) = period.split_at(unit_at);
    let count = match count {
        "" => 1,
        count => digits(count).ok_or("the period's count is too large")?,
    };
    let unit = unit_seconds(unit).ok_or("unknown period unit")?;
    let seconds = count
        .checked_mul(unit)
        .filter(|s| (1..=MAX_SECONDS).contains(s))
        .ok_or("the period must be 1 second to a year")?;
    Ok(Rate { requests, seconds })
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit {
        "s" | "sec" | "second" | "seconds" => 1,
        "m" | "min" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    })
}

/// The error at a rate literal that does not parse.
pub(crate) fn rate_error(lit: &LitStr, reason: &str) -> syn::Error {
    syn::Error::new(
        lit.span(),
        format!(
            "invalid rate `{}`: {reason} (expected `<requests>/<period>`, the period `s`, `min`, `hour` or `day` with an optional count before it, such as \"5/10s\", \"100/min\", \"1000/hour\", \"10/day\")",
            lit.value()
        ),
    )
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;
    use crate::attr::Outer;

    fn expand(args: proc_macro2::TokenStream, input: proc_macro2::TokenStream) -> String {
        let tokens = crate::handler(Outer::ActionHandler, args, input);
        syn::parse2::<syn::File>(tokens.clone()).unwrap();
        tokens.to_string()
    }

    #[test]
    fn throttled_arms_check_their_statics_before_reading_arguments() {
        let out = expand(
            quote!(throttle = "100/min", generics = List),
            quote! {
                impl Files {
                    #[async_action(throttle = "5/10s")]
                    async fn upload(&self, name: String) -> ActionResult { Ok(reply!(null, 200)) }
                    #[async_action(throttle = "1/day", throttle_scope = "exports")]
                    async fn export(&self) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        let block = "static BLOCK_THROTTLE : :: rest_channels :: __private :: Throttle = :: rest_channels :: __private :: Throttle :: new (:: core :: concat ! (:: core :: module_path ! () , \"::\" , :: core :: stringify ! (Files)) , :: rest_channels :: __private :: Rate :: per_seconds (100u32 , 60u64) ,) ;";
        let check_block =
            ":: rest_channels :: __private :: throttle (ctx , & BLOCK_THROTTLE) . await ? ;";
        let check_action =
            ":: rest_channels :: __private :: throttle (ctx , & ACTION_THROTTLE) . await ? ;";
        for part in [
            block,
            "\"upload\" => { :: rest_channels :: __private :: assert_arg :: < String > () ;",
            ":: core :: concat ! (:: core :: module_path ! () , \"::\" , :: core :: stringify ! (Files) , \".\" , \"upload\")",
            ":: rest_channels :: __private :: Rate :: per_seconds (5u32 , 10u64)",
            ":: rest_channels :: __private :: Throttle :: new (\"exports\" , :: rest_channels :: __private :: Rate :: per_seconds (1u32 , 86400u64) ,)",
            "\"list\" => { :: rest_channels :: __private :: throttle (ctx , & BLOCK_THROTTLE) . await ? ; :: rest_channels :: __private :: generic",
        ] {
            assert!(out.contains(part), "missing `{part}` in\n{out}");
        }
        // In each arm: the block's check, then the action's, then the arguments.
        let upload = &out[out.find("\"upload\" =>").unwrap()..];
        let (block_at, action_at, read_at) = (
            upload.find(check_block).unwrap(),
            upload.find(check_action).unwrap(),
            upload.find("__private :: arg :: < String >").unwrap(),
        );
        assert!(block_at < action_at && action_at < read_at, "{upload}");
        assert_eq!(out.matches(check_block).count(), 3, "{out}");
        assert_eq!(out.matches(check_action).count(), 2, "{out}");
    }

    #[test]
    fn unthrottled_handlers_have_no_throttle() {
        let out = expand(
            quote!(generics = List),
            quote! {
                impl Files {
                    #[async_action]
                    async fn upload(&self, name: String) -> ActionResult { Ok(reply!(null, 200)) }
                }
            },
        );
        assert!(!out.to_lowercase().contains("throttle"), "{out}");
    }

    // The same cases as the runtime's `throttle::tests`.
    #[test]
    fn rates_parse() {
        for (text, requests, seconds) in [
            ("5/10s", 5, 10),
            ("100/min", 100, 60),
            ("1000/hour", 1000, 3600),
            ("10/day", 10, 86_400),
            ("3/s", 3, 1),
            ("3/second", 3, 1),
            ("1/m", 1, 60),
            ("20/15min", 20, 900),
            ("7/2hours", 7, 7200),
            ("1/366d", 1, 366 * 86_400),
        ] {
            assert_eq!(parse_rate(text), Ok(Rate { requests, seconds }), "{text}");
        }
    }

    #[test]
    fn bad_rates_say_why() {
        for (text, reason) in [
            ("", "no `/`"),
            ("5", "no `/`"),
            ("/min", "the number of requests is not a whole number"),
            ("-1/min", "the number of requests is not a whole number"),
            (" 5/min", "the number of requests is not a whole number"),
            ("5.5/min", "the number of requests is not a whole number"),
            ("0/min", "a rate allows at least one request"),
            ("5000000000/min", "too many requests"),
            ("5/", "the period has no unit"),
            ("5/10", "the period has no unit"),
            ("5/mango", "unknown period unit"),
            ("5/10 s", "unknown period unit"),
            ("5/min/2", "unknown period unit"),
            ("5/0s", "the period must be 1 second to a year"),
            ("5/367d", "the period must be 1 second to a year"),
            ("5/99999999999999999999s", "the period's count is too large"),
        ] {
            assert_eq!(parse_rate(text), Err(reason), "{text:?}");
        }
    }
}
