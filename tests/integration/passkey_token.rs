//! A software passkey for the HTTP tests: a P-256 key (aws-lc-rs) that answers WebAuthn options the way a
//! browser with a platform authenticator would — attestation `none` at registration, ES256 assertions — with
//! the origin, user verification and backup eligibility the test chooses.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// One discoverable credential on a software authenticator.
pub struct SoftPasskey {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    /// The user handle the relying party gave at registration.
    pub user_handle: Vec<u8>,
    counter: u32,
    /// The origin the "browser" reports in `clientDataJSON`.
    pub origin: String,
    /// Whether the authenticator verifies its user (PIN, biometrics).
    pub verifies_user: bool,
    /// Whether the credential may be synced (backup eligible).
    pub backup_eligible: bool,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).unwrap()
}

/// A CBOR item's head (RFC 8949 §3): major type and length or value.
fn head(major: u8, value: u64) -> Vec<u8> {
    let major = major << 5;
    match value {
        0..=23 => vec![major | value as u8],
        24..=255 => vec![major | 24, value as u8],
        _ => {
            let mut out = vec![major | 25];
            out.extend_from_slice(&(value as u16).to_be_bytes());
            out
        }
    }
}

fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = head(2, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

fn cbor_text(text: &str) -> Vec<u8> {
    let mut out = head(3, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
    out
}

impl SoftPasskey {
    /// A new credential for the relying party at `origin`.
    pub fn new(origin: &str) -> Self {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let mut credential_id = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut credential_id).unwrap();
        Self {
            key,
            credential_id,
            user_handle: Vec::new(),
            counter: 0,
            origin: origin.to_owned(),
            verifies_user: true,
            backup_eligible: false,
        }
    }

    /// The credential id, base64url.
    pub fn id(&self) -> String {
        b64(&self.credential_id)
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut flags = 0x01; // UP
        if self.verifies_user {
            flags |= 0x04;
        }
        if self.backup_eligible {
            flags |= 0x08;
        }
        if attested {
            flags |= 0x40;
        }
        flags
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// The COSE_Key of the public key (RFC 9053 §7.1.1: EC2, P-256, ES256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let mut out = head(5, 5);
        out.extend_from_slice(&[0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
        out.extend(cbor_bytes(&point[1..33]));
        out.push(0x22);
        out.extend(cbor_bytes(&point[33..65]));
        out
    }

    /// Answers `navigator.credentials.create(options)`: the `RegisterPublicKeyCredential` JSON.
    pub fn create(&mut self, options: &Value) -> Value {
        let key = &options["publicKey"];
        let rp_id = key["rp"]["id"].as_str().unwrap();
        self.user_handle = unb64(key["user"]["id"].as_str().unwrap());
        let client_data = self.client_data("webauthn.create", key["challenge"].as_str().unwrap());
        let mut auth_data = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
        auth_data.push(self.flags(true));
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]);
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = head(5, 3);
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.extend(head(5, 0));
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {"attestationObject": b64(&attestation), "clientDataJSON": b64(&client_data)},
            "extensions": {}
        })
    }

    /// Answers `navigator.credentials.get(options)`: the `PublicKeyCredential` JSON, signed over the
    /// options' challenge for the relying party `rp_id`.
    pub fn assert(&mut self, options: &Value, rp_id: &str) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap().to_owned();
        self.assert_challenge(&challenge, rp_id)
    }

    /// An assertion over any challenge (a wrong one, for the refusals).
    pub fn assert_challenge(&mut self, challenge: &str, rp_id: &str) -> Value {
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", challenge);
        let mut auth_data = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
        auth_data.push(self.flags(false));
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
        let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&self.user_handle)
            },
            "extensions": {}
        })
    }
}
