use quilt_hash::{Error, PackageName};

#[test]
fn valid_names() {
    for n in ["team/data", "a_b/c-d", "é/日本", "x1/٣", "_/-"] {
        let name = PackageName::parse(n).expect(n);
        assert_eq!(name.to_string(), n);
    }
    let name = PackageName::parse("team/data-2").expect("valid");
    assert_eq!(name.namespace(), "team");
    assert_eq!(name.name(), "data-2");
}

#[test]
fn invalid_names_explain() {
    for n in [
        "",
        "team",
        "/data",
        "team/",
        "a/b/c",
        "a b/c",
        "a/b\n",
        "a/b.c",
        "a/\u{301}",
        "a/\u{203f}",
    ] {
        assert!(
            matches!(PackageName::parse(n), Err(Error::BadPackageName(_))),
            "{n:?} should be refused"
        );
    }
    let message = PackageName::parse("x").expect_err("no slash").to_string();
    assert_eq!(
        message,
        "invalid package name \"x\": expected NAMESPACE/NAME using letters, digits, '_' or '-'"
    );
}
