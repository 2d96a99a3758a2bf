import IECCrypto
import IECJSON
import IECTestSupport
import JOSE
import XCTest

final class JWSVectorTests: XCTestCase {
    /// RFC 7515 A.1 (HS256) and A.3 (ES256): the published JWS verifies with the
    /// published key, and our own signature over the same input verifies too.
    func testRFC7515Examples() throws {
        let vectors = try TestVectors.repository("rfc7515-jws.json")
        let cases = vectors["cases"]?.arrayValue ?? []
        XCTAssertEqual(cases.count, 2)
        for vector in cases {
            let jwk = try JWK(json: vector["jwk"]!)
            let token = vector.string("jws")
            let keys: JWSVerificationKeys
            let signingKey: JWSSigningKey
            switch vector.string("alg") {
            case "ES256":
                keys = .es256(try jwk.publicKey())
                signingKey = .es256(try jwk.privateKey(), keyID: nil)
            default:
                keys = .hs256(try jwk.symmetricKey())
                signingKey = .hs256(try jwk.symmetricKey(), keyID: nil)
            }
            let verified = try JWS.verify(token, keys: keys)
            XCTAssertEqual(String(decoding: verified.payload, as: UTF8.self), vector.string("payload"), vector.caseID)
            XCTAssertEqual(try verified.claims().issuer, "joe")
            XCTAssertEqual(try verified.claims().expiration, 1_300_819_380)
            // The JWK Set path finds the same key.
            XCTAssertNoThrow(try JWS.verify(token, keys: .set(JWKS(keys: [jwk]))), vector.caseID)

            let ours = try JWS.sign(payload: verified.payload, key: signingKey)
            XCTAssertNoThrow(try JWS.verify(ours, keys: keys), vector.caseID)
        }
    }

    func testThumbprintIsRFC7638Canonical() throws {
        let vectors = try TestVectors.repository("rfc7515-jws.json")
        let ec = try JWK(json: vectors["cases"]!.arrayValue![1]["jwk"]!)
        let canonical = #"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
        XCTAssertEqual(ec.thumbprint(), Base64.urlEncode(SHA256.hash(canonical)))
        // The same key published with other members keeps its thumbprint.
        let published = JWK(publicKey: try ec.publicKey(), keyID: "other")
        XCTAssertEqual(published.thumbprint(), ec.thumbprint())
        XCTAssertEqual(JWK(publicKey: try ec.publicKey()).keyID, ec.thumbprint())
        XCTAssertFalse(ec.publicJWK.json.serialized().contains("\"d\""))
    }
}
