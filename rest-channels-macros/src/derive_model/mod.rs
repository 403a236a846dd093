//! `#[derive(Model)]`: parse -> model -> validate -> expand, or the errors
//! and the fallback.
//!
//! - `attr.rs`: the syntax of `#[model(...)]` entries;
//! - `ast.rs`: the model of the struct, its options and its fields';
//! - `valid.rs`: every semantic check;
//! - `expand.rs`: `<Name>Fields`, `impl Model`, `impl Object`;
//! - `fallback.rs`: the stubs emitted next to errors.

mod ast;
mod attr;
mod expand;
mod fallback;
mod valid;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Errors;
use ast::Model;

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let model = Model::from_input(input, &mut errors);
    if let Some(model) = &model {
        valid::check(model, &mut errors);
    }
    match (model, errors.into_result()) {
        (Some(model), Ok(())) => expand::expand(&model),
        (model, result) => {
            let errors = result.err().map(|e| e.into_compile_error());
            let fallback = fallback::expand(model.as_ref());
            quote!(#errors #fallback)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ctxt::Errors;

    pub(crate) fn messages(errors: Errors) -> Vec<String> {
        match errors.into_result() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The messages of building and checking the model of `input`.
    pub(crate) fn check_errors(input: syn::DeriveInput) -> Vec<String> {
        let mut errors = Errors::default();
        if let Some(model) = Model::from_input(input, &mut errors) {
            valid::check(&model, &mut errors);
        }
        messages(errors)
    }

    fn expand(input: TokenStream) -> String {
        let tokens = derive(input);
        // The output is valid Rust.
        syn::parse2::<syn::File>(tokens.clone()).unwrap();
        tokens.to_string()
    }

    #[test]
    fn expands_the_example_model() {
        let out = expand(quote! {
            #[model(table = "notes")]
            pub struct Note {
                #[model(primary_key)]
                pub id: i64,
                #[model(validate(length(chars, min = 1, max = 255)))]
                pub title: String,
                #[model(default = "", validate(length(bytes, max = 1024), email, custom(check::it)))]
                pub content: String,
                #[model(default, validate(range(min = -1.5, max = 10.0)))]
                pub score: Option<f64>,
                #[model(default = 3)]
                pub stars: Option<i32>,
                #[model(read_only, owner)]
                pub author: i64,
                pub r#type: Option<String>,
            }
        });
        for part in [
            "# [doc = \"The columns of [`Note`], for filter, search and ordering lists.\"] # [derive (:: core :: clone :: Clone , :: core :: marker :: Copy , :: core :: fmt :: Debug)] pub struct NoteFields {",
            "# [doc = \"The `type` column.\"] pub r#type : :: rest_channels :: model :: Column ,",
            "impl :: rest_channels :: model :: Model for Note {",
            "const TABLE : & 'static str = \"notes\" ;",
            "const COLUMNS : & 'static [:: rest_channels :: model :: Column] = & [< Self as :: rest_channels :: model :: Model > :: FIELDS . id , < Self as :: rest_channels :: model :: Model > :: FIELDS . title ,",
            "const PRIMARY_KEY : :: rest_channels :: model :: Column = < Self as :: rest_channels :: model :: Model > :: FIELDS . id ;",
            "type Fields = NoteFields ;",
            "const NAME : & 'static str = \"note\" ;",
            "const FIELDS : NoteFields = NoteFields { id : :: rest_channels :: model :: Column :: new (\"id\" , < i64 as :: rest_channels :: model :: FieldType > :: TYPE) ,",
            "r#type : :: rest_channels :: model :: Column :: new (\"type\" , < Option < String > as :: rest_channels :: model :: FieldType > :: TYPE) , }",
            "fn from_row (row : & :: rest_channels :: db :: Row < '_ > ,) -> :: core :: result :: Result < Self , :: rest_channels :: db :: sqlx :: Error > { :: core :: result :: Result :: Ok (Self { id : < i64 as :: rest_channels :: model :: FieldType > :: decode (row , \"id\") ? ,",
            "fn pk (& self) -> :: rest_channels :: model :: Value { :: rest_channels :: model :: FieldType :: to_value (& self . id) }",
            "fn read_data (data : & :: rest_channels :: __private :: serde_json :: Map < :: std :: string :: String , :: rest_channels :: __private :: serde_json :: Value > , mode : :: rest_channels :: model :: WriteMode ,) -> :: core :: result :: Result < :: rest_channels :: model :: Values , :: rest_channels :: FieldErrors > {",
            "< String as :: rest_channels :: model :: FieldType > :: read (data , \"title\" , mode , ! < String as :: rest_channels :: model :: FieldType > :: NULLABLE , :: core :: option :: Option :: None , | v , problems | { :: rest_channels :: model :: validate :: length_chars (v , :: core :: option :: Option :: Some (1) , :: core :: option :: Option :: Some (255) , problems) ; } , & mut values , & mut errors ,) ;",
            "< String as :: rest_channels :: model :: FieldType > :: read (data , \"content\" , mode , false , :: core :: option :: Option :: Some ((|| -> String { :: core :: convert :: Into :: into (\"\") }) as fn () -> String) , | v , problems | { :: rest_channels :: model :: validate :: length_bytes (v , :: core :: option :: Option :: None , :: core :: option :: Option :: Some (1024) , problems) ; :: rest_channels :: model :: validate :: email (v , problems) ; :: rest_channels :: model :: validate :: custom (v , | x | check :: it (x) , problems) ; } ,",
            "< Option < f64 > as :: rest_channels :: model :: FieldType > :: read (data , \"score\" , mode , false , :: core :: option :: Option :: Some (< Option < f64 > as :: core :: default :: Default > :: default as fn () -> Option < f64 >) , | v , problems | { if let :: core :: option :: Option :: Some (v) = v { :: rest_channels :: model :: validate :: range (v , :: core :: option :: Option :: Some (- 1.5) , :: core :: option :: Option :: Some (10.0) , problems) ; } } ,",
            ":: core :: option :: Option :: Some ((|| -> Option < i32 > { :: core :: option :: Option :: Some (:: core :: convert :: Into :: < i32 > :: into (3)) }) as fn () -> Option < i32 >)",
            "< Option < String > as :: rest_channels :: model :: FieldType > :: read (data , \"type\" , mode , ! < Option < String > as :: rest_channels :: model :: FieldType > :: NULLABLE , :: core :: option :: Option :: None , | _ , _ | { } ,",
            "if errors . is_empty () { :: core :: result :: Result :: Ok (values) } else { :: core :: result :: Result :: Err (errors) }",
            "impl :: rest_channels :: permissions :: Object for Note { fn owner (& self) -> :: core :: option :: Option < :: rest_channels :: UserId > { :: core :: option :: Option :: Some (< :: rest_channels :: UserId as :: core :: convert :: From < _ >> :: from (:: core :: clone :: Clone :: clone (& self . author))) } }",
        ] {
            assert!(out.contains(part), "missing `{part}` in\n{out}");
        }
        // Read-only fields are not read from `data`.
        assert!(!out.contains("\"id\" , mode"), "{out}");
        assert!(!out.contains("\"author\" , mode"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn crate_option_optional_owner_and_nothing_writable() {
        let out = expand(quote! {
            #[model(table = "t", crate = "crate::rc")]
            struct T {
                #[model(primary_key)]
                id: i64,
                #[model(owner, read_only)]
                user: Option<String>,
            }
        });
        for part in [
            "struct TFields {",
            "impl crate :: rc :: model :: Model for T {",
            "let _ = (data , mode) ; :: core :: result :: Result :: Ok (crate :: rc :: model :: Values :: new ())",
            ":: core :: option :: Option :: map (:: core :: clone :: Clone :: clone (& self . user) , < crate :: rc :: UserId as :: core :: convert :: From < _ >> :: from)",
        ] {
            assert!(out.contains(part), "missing `{part}` in\n{out}");
        }
        let out = expand(quote! {
            #[model(table = "t")]
            struct T { #[model(primary_key)] id: i64 }
        });
        assert!(
            out.contains("impl :: rest_channels :: permissions :: Object for T { }"),
            "{out}"
        );
    }

    #[test]
    fn errors_come_with_the_fallback() {
        let out = expand(quote! {
            #[model(table = "notes")]
            pub(crate) struct Note {
                #[model(primary_key, colour)]
                id: i64,
                #[model(validate(lenght(max = 1)))]
                title: String,
            }
        });
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
        assert!(out.contains("unknown model option `colour`"), "{out}");
        assert!(out.contains("unknown validation rule `lenght`"), "{out}");
        for part in [
            "pub (crate) struct NoteFields { # [doc = \"The `id` column.\"] pub id : :: rest_channels :: model :: Column ,",
            "const FIELDS : NoteFields = NoteFields { id : :: rest_channels :: model :: Column :: new (\"\" , :: rest_channels :: model :: ColumnType :: Text) ,",
            "fn pk (& self) -> :: rest_channels :: model :: Value { :: core :: unreachable ! () }",
            "impl :: rest_channels :: permissions :: Object for Note { }",
        ] {
            assert!(out.contains(part), "missing `{part}` in\n{out}");
        }
        assert!(!out.contains("FieldType"), "{out}");

        // Not a struct: the error alone.
        let out = expand(quote!(
            enum E {
                A,
            }
        ));
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
        assert!(!out.contains("impl"), "{out}");
    }
}
