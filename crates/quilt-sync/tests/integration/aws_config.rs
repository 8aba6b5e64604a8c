//! The AWS configuration files and region discovery, against the test server.

use quilt_sync::{Remote, S3Options, S3Remote};

use crate::util::{bucket_name, fresh_s3, s3_server};

/// Endpoint, region and keys from the two files alone (no option given): the remote works.
#[test]
fn a_profile_in_the_files_reaches_the_server() {
    let Some(server) = s3_server() else {
        return;
    };
    let made = fresh_s3("awsfiles", "").unwrap();
    made.put("k", b"v").unwrap();
    let bucket = made.describe()["s3://".len()..]
        .trim_end_matches('/')
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &config,
        format!(
            "[profile files]\nregion = us-east-1\nservices = here\n\n\
             [services here]\ns3 =\n  endpoint_url = {}\n",
            server.endpoint
        ),
    )
    .unwrap();
    std::fs::write(
        &credentials,
        format!(
            "[files]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server.access_key, server.secret_key
        ),
    )
    .unwrap();
    let opts = S3Options {
        profile: Some("files".into()),
        config_file: Some(config),
        credentials_file: Some(credentials),
        ..S3Options::default()
    };
    let r = S3Remote::new(&bucket, "", &opts).unwrap();
    assert_eq!(r.endpoint(), server.endpoint);
    assert_eq!(r.region(), "us-east-1");
    assert_eq!(r.get("k").unwrap(), b"v");
}

/// A custom endpoint without a region is signed for us-east-1 and never asked for one.
#[test]
fn a_custom_endpoint_without_a_region_uses_us_east_1() {
    let Some(server) = s3_server() else {
        return;
    };
    let opts = S3Options {
        region: None,
        ..server.options()
    };
    let r = S3Remote::new(&bucket_name("noregion"), "", &opts).unwrap();
    assert_eq!(r.region(), "us-east-1");
    assert_eq!(r.requests_sent(), 0);
}

/// For AWS without a configured region, a region known from before (the store's cache) or
/// learned earlier in this process is used, and nothing is sent to ask for it.
#[test]
fn a_known_region_is_used_without_asking() {
    let keys = S3Options {
        access_key: Some("a".into()),
        secret_key: Some("b".into()),
        config_file: Some("/nonexistent".into()),
        ..S3Options::default()
    };
    let known = S3Options {
        known_region: Some("eu-west-3".into()),
        ..keys.clone()
    };
    let r = S3Remote::new("quilt-known-region-test", "", &known).unwrap();
    assert_eq!(r.region(), "eu-west-3");
    assert_eq!(r.endpoint(), "https://s3.eu-west-3.amazonaws.com");
    assert_eq!(r.requests_sent(), 0);
    // A configured region wins over the known one.
    let configured = S3Options {
        region: Some("us-west-1".into()),
        ..known
    };
    let r = S3Remote::new("quilt-known-region-test", "", &configured).unwrap();
    assert_eq!(r.region(), "us-west-1");
    // Learned in this process: remembered per bucket.
    quilt_sync::s3::region::remember_region("quilt-learned-region-test", "ap-south-1");
    let r = S3Remote::new("quilt-learned-region-test", "p/", &keys).unwrap();
    assert_eq!(r.region(), "ap-south-1");
    assert_eq!(r.endpoint(), "https://s3.ap-south-1.amazonaws.com");
}
