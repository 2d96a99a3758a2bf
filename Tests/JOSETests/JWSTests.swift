import IECCrypto
import IECJSON
import JOSE
import XCTest

final class JWSTests: XCTestCase {
    let key = try! P256.PrivateKey()
    var jwks: JWKS { JWKS(keys: [JWK(publicKey: key.publicKey)]) }
    var kid: String { JWK(publicKey: key.publicKey).thumbprint() }

    func token(_ claims: JWTClaims = JWTClaims(["sub": "gateway-1", "exp": 2_000_000_000])) throws -> String {
        try JWS.sign(claims: claims, key: .es256(key, keyID: kid))
    }

    func expectError(_ kind: JOSEError.Kind, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected \(kind), got success", file: file, line: line)
        } catch let error as JOSEError {
            XCTAssertEqual(error.kind, kind, "\(error.reason)", file: file, line: line)
        } catch {
            XCTFail("expected JOSEError \(kind), got \(error)", file: file, line: line)
        }
    }

    /// A token with a header and signature of our choosing.
    func forge(header: String, payload: String = #"{"sub":"x"}"#, signature: [UInt8] = [1, 2, 3]) -> String {
        Base64.urlEncode(header) + "." + Base64.urlEncode(payload) + "." + Base64.urlEncode(signature)
    }

    func testES256SignVerifyWithSetAndKey() throws {
        let token = try token()
        let verified = try JWS.verify(token, keys: .set(jwks))
        XCTAssertEqual(verified.algorithm, .es256)
        XCTAssertEqual(verified.header["kid"]?.stringValue, kid)
        XCTAssertEqual(try verified.claims().subject, "gateway-1")
        XCTAssertNoThrow(try JWS.verify(token, keys: .es256(key.publicKey)))
    }

    func testHS256SignVerify() throws {
        let secret = Array("vendor secret, long enough for HS256".utf8)
        let token = try JWS.sign(claims: JWTClaims(["iss": "edge-device"]), key: .hs256(secret, keyID: nil))
        XCTAssertEqual(try JWS.verify(token, keys: .hs256(secret)).algorithm, .hs256)
        expectError(.invalidSignature) { _ = try JWS.verify(token, keys: .hs256(Array("letmein".utf8))) }
        XCTAssertNoThrow(try JWS.verify(token, keys: .set(JWKS(keys: [JWK(symmetricKey: secret)]))))
    }

    func testRejectsNoneAndOtherAlgorithms() {
        for alg in ["none", "None", "NONE", "RS256", "PS256", "ES384", "ES512", "HS384", "HS512", "EdDSA", "ES256K", ""] {
            expectError(.unsupportedAlgorithm) { _ = try JWS.verify(forge(header: #"{"alg":"\#(alg)"}"#, signature: []), keys: .set(jwks)) }
        }
        expectError(.malformed) { _ = try JWS.verify(forge(header: #"{"typ":"JWT"}"#), keys: .set(jwks)) }
        expectError(.malformed) { _ = try JWS.verify(forge(header: #"{"alg":5}"#), keys: .set(jwks)) }
    }

    func testRejectsAlgorithmKeyConfusion() throws {
        // HS256 "signed" with the public key's bytes as the secret: the classic confusion attack.
        let publicPEM = Array(key.publicKey.pemRepresentation.utf8)
        let confused = try JWS.sign(claims: JWTClaims(["sub": "admin"]), key: .hs256(publicPEM, keyID: kid))
        expectError(.algorithmKeyMismatch) { _ = try JWS.verify(confused, keys: .es256(key.publicKey)) }
        expectError(.algorithmKeyMismatch) { _ = try JWS.verify(confused, keys: .set(jwks)) }
        let es = try token()
        expectError(.algorithmKeyMismatch) { _ = try JWS.verify(es, keys: .hs256(publicPEM)) }
        // A JWK that says alg HS256 is not used for ES256, and the reverse.
        var members = JWK(publicKey: key.publicKey).json.objectValue!
        members["alg"] = "HS256"
        let mislabelled = try JWK(json: .object(members))
        expectError(.algorithmKeyMismatch) { _ = try JWS.verify(es, keys: .set(JWKS(keys: [mislabelled]))) }
        // An encryption key is not a signature key.
        members["alg"] = nil
        members["use"] = "enc"
        expectError(.algorithmKeyMismatch) { _ = try JWS.verify(es, keys: .set(JWKS(keys: [try JWK(json: .object(members))]))) }
    }

    func testWrongKeyAndUnknownKid() throws {
        let other = try P256.PrivateKey()
        let token = try JWS.sign(claims: JWTClaims(["sub": "x"]), key: .es256(other, keyID: kid))
        expectError(.invalidSignature) { _ = try JWS.verify(token, keys: .set(jwks)) }
        let unknown = try JWS.sign(claims: JWTClaims(["sub": "x"]), key: .es256(key, keyID: "nope"))
        expectError(.unknownKey) { _ = try JWS.verify(unknown, keys: .set(jwks)) }
        // No kid: every fitting key of the set is tried.
        let noKid = try JWS.sign(claims: JWTClaims(["sub": "x"]), key: .es256(key, keyID: nil))
        let set = JWKS(keys: [JWK(publicKey: other.publicKey), JWK(publicKey: key.publicKey)])
        XCTAssertNoThrow(try JWS.verify(noKid, keys: .set(set)))
    }

    func testMalformedTokens() throws {
        let good = try token()
        let parts = good.split(separator: ".").map(String.init)
        let malformed = [
            "", ".", "..", "...", "a.b", "a.b.c.d", parts[0] + "." + parts[1],
            parts[0] + "." + parts[1] + ".", "." + parts[1] + "." + parts[2],
            parts[0] + "=." + parts[1] + "." + parts[2],
            parts[0] + "." + parts[1] + "." + parts[2] + "=",
            parts[0] + " ." + parts[1] + "." + parts[2],
            "!!!." + parts[1] + "." + parts[2],
            Base64.urlEncode("not json") + "." + parts[1] + "." + parts[2],
            Base64.urlEncode("[1,2]") + "." + parts[1] + "." + parts[2],
            Base64.urlEncode(#"{"alg":"ES256","alg":"none"}"#) + "." + parts[1] + "." + parts[2],
            Base64.urlEncode(#"{"alg":"ES256","crit":["exp"]}"#) + "." + parts[1] + "." + parts[2],
        ]
        for token in malformed {
            expectError(.malformed) { _ = try JWS.verify(token, keys: .set(jwks)) }
        }
        // A well-signed payload that is not a claims object.
        let notClaims = try JWS.sign(payload: Array("[1]".utf8), key: .es256(key, keyID: kid))
        expectError(.malformed) { _ = try JWS.verify(notClaims, keys: .set(jwks)).claims() }
        let badExp = try JWS.sign(payload: Array(#"{"exp":"soon"}"#.utf8), key: .es256(key, keyID: kid))
        expectError(.malformed) { _ = try JWS.verify(badExp, keys: .set(jwks)).claims() }
    }

    func testOversizedTokenRefusedBeforeDecoding() throws {
        let big = try token(JWTClaims(["pad": .string(String(repeating: "x", count: 70_000))]))
        expectError(.tooLarge) { _ = try JWS.verify(big, keys: .set(jwks)) }
        XCTAssertNoThrow(try JWS.verify(big, keys: .set(jwks), maxBytes: 200_000))
        expectError(.tooLarge) { _ = try JWS.verify(try token(), keys: .set(jwks), maxBytes: 10) }
    }

    func testSignatureBitFlipsAndTruncationsFail() throws {
        let good = try token()
        let parts = good.split(separator: ".").map(String.init)
        var signature = Base64.urlDecode(parts[2])!
        for index in 0..<signature.count {
            signature[index] ^= 0x01
            expectError(.invalidSignature) { _ = try JWS.verify(parts[0] + "." + parts[1] + "." + Base64.urlEncode(signature), keys: .set(jwks)) }
            signature[index] ^= 0x01
        }
        expectError(.invalidSignature) { _ = try JWS.verify(parts[0] + "." + parts[1] + "." + Base64.urlEncode(Array(signature.prefix(32))), keys: .set(jwks)) }
        // A DER signature instead of R || S is not JWS.
        expectError(.invalidSignature) { _ = try JWS.verify(parts[0] + "." + parts[1] + "." + Base64.urlEncode([0x30, 0x44] + signature + [0, 0]), keys: .set(jwks)) }
    }

    /// Thousands of random mutations of a valid token: each is refused with a
    /// typed error, none crashes, and only the untouched token verifies.
    func testMutatedTokensNeverVerify() throws {
        let good = try token()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u{0}é".unicodeScalars)
        var random = SplitMix64(seed: 0x1EC)
        var refused = 0
        for _ in 0..<5000 {
            var scalars = Array(good.unicodeScalars)
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let position = Int(random.next() % UInt64(scalars.count + 1))
                switch random.next() % 5 {
                case 0 where position < scalars.count: scalars[position] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1 where position < scalars.count: scalars.remove(at: position)
                case 2: scalars.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: position)
                case 3: scalars = Array(scalars.prefix(position))
                default:
                    if position < scalars.count { scalars.swapAt(position, Int(random.next() % UInt64(scalars.count))) }
                }
            }
            let mutated = String(String.UnicodeScalarView(scalars))
            do {
                _ = try JWS.verify(mutated, keys: .set(jwks)).claims()
                XCTAssertEqual(mutated, good, "a mutated token verified")
            } catch is JOSEError {
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 4500)
    }
}

/// A small deterministic generator, so that the mutation test is repeatable.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
