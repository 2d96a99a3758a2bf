import IECCrypto
import IECJSON
import JOSE
import XCTest

final class JWKTests: XCTestCase {
    func testPrivateJWKRoundTrip() throws {
        let key = try P256.PrivateKey()
        let jwk = JWK(privateKey: key)
        XCTAssertTrue(jwk.isPrivate)
        let parsed = try JWK(json: try JSONValue.parse(jwk.json.serialized()))
        XCTAssertEqual(try parsed.privateKey().rawRepresentation, key.rawRepresentation)
        XCTAssertEqual(parsed.keyID, jwk.thumbprint())
        XCTAssertFalse(parsed.publicJWK.isPrivate)
    }

    func testInvalidJWKs() throws {
        let good = JWK(privateKey: try P256.PrivateKey()).json.objectValue!
        let otherKey = JWK(privateKey: try P256.PrivateKey()).json.objectValue!
        var mismatched = good
        mismatched["d"] = otherKey["d"]
        var badCurve = good
        badCurve["crv"] = "P-384"
        var shortX = good
        shortX["x"] = "AAAA"
        var offCurve = good
        offCurve["x"] = .string(Base64.urlEncode([UInt8](repeating: 7, count: 32)))
        let invalid: [JSONValue] = [
            "string", ["kty": "RSA", "n": "x", "e": "AQAB"], ["kty": "EC"], .object(mismatched), .object(badCurve),
            .object(shortX), .object(offCurve), ["kty": "oct"], ["kty": "oct", "k": ""], ["kty": "EC", "crv": 5],
        ]
        for json in invalid {
            XCTAssertThrowsError(try JWK(json: json), json.serialized()) { XCTAssertTrue($0 is JOSEError) }
        }
    }

    func testJWKSSkipsForeignKeysAndRefusesEmptyOfUsable() throws {
        let ec = JWK(publicKey: try P256.PrivateKey().publicKey)
        let set = try JWKS(json: ["keys": [["kty": "RSA", "n": "abc", "e": "AQAB"], ec.json, ["kty": "OKP", "crv": "Ed25519", "x": "abc"]]])
        XCTAssertEqual(set.keys.count, 1)
        XCTAssertThrowsError(try JWKS(json: ["keys": [["kty": "RSA", "n": "abc", "e": "AQAB"]]]))
        XCTAssertThrowsError(try JWKS(json: ["nokeys": []]))
        XCTAssertThrowsError(try JWKS(jsonText: "{"))
        XCTAssertEqual(try JWKS(jsonText: #"{"keys":[]}"#).keys.count, 0)
        // A published set never carries private members.
        let privateSet = JWKS(keys: [JWK(privateKey: try P256.PrivateKey())])
        XCTAssertFalse(privateSet.json.serialized().contains("\"d\""))
    }
}
