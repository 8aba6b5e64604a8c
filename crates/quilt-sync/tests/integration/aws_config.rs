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
