import IECCrypto
import XCTest

final class P256Tests: XCTestCase {
    func testSignVerifyRoundTripAndEncodings() throws {
        let key = try P256.PrivateKey()
        let message = Array("hello".utf8)
        let signature = try key.signature(for: message)
        XCTAssertEqual(signature.count, 64)
        XCTAssertTrue(key.publicKey.isValidSignature(signature, for: message))
        XCTAssertFalse(key.publicKey.isValidSignature(signature, for: Array("hellp".utf8)))
        XCTAssertFalse(try P256.PrivateKey().publicKey.isValidSignature(signature, for: message))

        let fromPEM = try P256.PrivateKey(pemRepresentation: key.pemRepresentation)
        XCTAssertEqual(fromPEM.rawRepresentation, key.rawRepresentation)
        let fromDER = try P256.PrivateKey(derRepresentation: key.derRepresentation)
        XCTAssertEqual(fromDER.publicKey, key.publicKey)
        let fromRaw = try P256.PrivateKey(rawRepresentation: key.rawRepresentation)
        XCTAssertEqual(fromRaw.publicKey, key.publicKey)
        XCTAssertTrue(key.pemRepresentation.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))

        let publicKey = key.publicKey
        XCTAssertEqual(try P256.PublicKey(pemRepresentation: publicKey.pemRepresentation), publicKey)
        XCTAssertEqual(try P256.PublicKey(derRepresentation: publicKey.derRepresentation), publicKey)
        let (x, y) = publicKey.rawCoordinates
        XCTAssertEqual(try P256.PublicKey(x: x, y: y), publicKey)
        XCTAssertEqual(publicKey.derRepresentation.count, 91)
    }

    func testBadKeysAreTypedErrors() {
        XCTAssertThrowsError(try P256.PublicKey(derRepresentation: [])) { XCTAssertTrue(($0 as! CryptoError).isInvalidKey) }
        XCTAssertThrowsError(try P256.PublicKey(derRepresentation: Array(repeating: 0x30, count: 91)))
        XCTAssertThrowsError(try P256.PublicKey(pemRepresentation: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
        XCTAssertThrowsError(try P256.PrivateKey(pemRepresentation: "not a key"))
        // A point off the curve.
        XCTAssertThrowsError(try P256.PublicKey(x: [UInt8](repeating: 1, count: 32), y: [UInt8](repeating: 2, count: 32)))
        XCTAssertThrowsError(try P256.PrivateKey(rawRepresentation: [UInt8](repeating: 0, count: 32)))
        XCTAssertThrowsError(try P256.PrivateKey(rawRepresentation: [UInt8](repeating: 0xFF, count: 32)))
        XCTAssertThrowsError(try P256.PrivateKey(rawRepresentation: [1, 2, 3]))
        // Trailing bytes after a valid SPKI.
        let valid = try! P256.PrivateKey().publicKey.derRepresentation
        XCTAssertThrowsError(try P256.PublicKey(derRepresentation: valid + [0]))
    }

    func testWrongSignatureLengthsDoNotVerify() throws {
        let key = try P256.PrivateKey()
        let signature = try key.signature(for: [1, 2, 3])
        XCTAssertFalse(key.publicKey.isValidSignature(Array(signature.prefix(63)), for: [1, 2, 3]))
        XCTAssertFalse(key.publicKey.isValidSignature(signature + [0], for: [1, 2, 3]))
        XCTAssertFalse(key.publicKey.isValidSignature([UInt8](repeating: 0, count: 64), for: [1, 2, 3]))
    }

    func testConcurrentSigningWithOneKey() throws {
        let key = try P256.PrivateKey()
        DispatchQueue.concurrentPerform(iterations: 200) { index in
            let message = Array("message \(index)".utf8)
            let signature = try! key.signature(for: message)
            XCTAssertTrue(key.publicKey.isValidSignature(signature, for: message))
        }
    }
}

final class PrimitiveTests: XCTestCase {
    func testSHA256KnownAnswers() {
        XCTAssertEqual(hexString(SHA256.hash("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hexString(SHA256.hash("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(ConstantTime.equals([1, 2, 3], [1, 2]))
        XCTAssertTrue(ConstantTime.equals([], []))
        XCTAssertTrue(ConstantTime.equals("secret", "secret"))
    }

    func testSecureRandom() {
        let a = SecureRandom.bytes(32)
        let b = SecureRandom.bytes(32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(SecureRandom.bytes(0), [])
        for _ in 0..<1000 { XCTAssertLessThan(SecureRandom.uniform(31), 31) }
    }

    func testBase64StrictDecoding() {
        XCTAssertEqual(Base64.urlEncode([0xFB, 0xFF]), "-_8")
        XCTAssertEqual(Base64.urlDecode("-_8"), [0xFB, 0xFF])
        XCTAssertEqual(Base64.encode(Array("any carnal pleas".utf8)), "YW55IGNhcm5hbCBwbGVhcw==")
        XCTAssertEqual(Base64.decode("YW55IGNhcm5hbCBwbGVhcw=="), Array("any carnal pleas".utf8))
        XCTAssertNil(Base64.urlDecode("-_8="), "padding is refused in base64url")
        XCTAssertNil(Base64.urlDecode("-_9"), "non-zero trailing bits are refused")
        XCTAssertNil(Base64.urlDecode("a"), "a single leftover character is impossible")
        XCTAssertNil(Base64.urlDecode("ab+c"), "standard alphabet is refused in base64url")
        XCTAssertNil(Base64.decode("YW55"+" "), "whitespace is refused")
        for count in 0..<40 {
            let bytes = SecureRandom.bytes(count)
            XCTAssertEqual(Base64.urlDecode(Base64.urlEncode(bytes)), bytes)
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
    }
}

final class CurveAndZ85Tests: XCTestCase {
    func testZ85RoundTripAndErrors() throws {
        for count in stride(from: 0, through: 64, by: 4) {
            let bytes = SecureRandom.bytes(count)
            XCTAssertEqual(try Z85.decode(try Z85.encode(bytes)), bytes)
        }
        XCTAssertThrowsError(try Z85.encode([1, 2, 3]))
        XCTAssertThrowsError(try Z85.decode("abcd"))
        XCTAssertThrowsError(try Z85.decode("abc d"))
        XCTAssertThrowsError(try Z85.decode("#####"), "a group over 2^32 - 1 is refused")
    }

    func testCurveKeyPair() throws {
        let pair = CurveKeyPair()
        XCTAssertEqual(pair.publicKeyZ85.count, 40)
        XCTAssertEqual(pair.secretKeyZ85.count, 40)
        XCTAssertEqual(try CurveKeyPair(secretKeyZ85: pair.secretKeyZ85), pair)
        XCTAssertTrue(CurveKeyPair.isValidZ85Key(pair.publicKeyZ85))
        XCTAssertFalse(CurveKeyPair.isValidZ85Key("short"))
        XCTAssertThrowsError(try CurveKeyPair(secretKeyZ85: "HelloWorld"))
        // Both sides of a CURVE handshake agree.
        let other = CurveKeyPair()
        XCTAssertEqual(
            try X25519.sharedSecret(secretKey: pair.secretKey, publicKey: other.publicKey),
            try X25519.sharedSecret(secretKey: other.secretKey, publicKey: pair.publicKey))
    }
}

final class SecretBoxTests: XCTestCase {
    func testSealOpenAndTamperDetection() throws {
        let key = SecretBox.generateKey()
        let secret = Array("node private key".utf8)
        let box = try SecretBox.seal(secret, key: key, associatedData: Array("node-1".utf8))
        XCTAssertEqual(box.count, secret.count + 24 + 16)
        XCTAssertEqual(try SecretBox.open(box, key: key, associatedData: Array("node-1".utf8)), secret)
        XCTAssertNotEqual(try SecretBox.seal(secret, key: key), try SecretBox.seal(secret, key: key), "fresh nonce each time")

        XCTAssertThrowsError(try SecretBox.open(box, key: SecretBox.generateKey(), associatedData: Array("node-1".utf8))) {
            XCTAssertTrue(($0 as! CryptoError).isAuthenticationFailure)
        }
        XCTAssertThrowsError(try SecretBox.open(box, key: key, associatedData: Array("node-2".utf8)), "moved to another record")
        for index in [0, 30, box.count - 1] {
            var tampered = box
            tampered[index] ^= 1
            XCTAssertThrowsError(try SecretBox.open(tampered, key: key, associatedData: Array("node-1".utf8)))
        }
        XCTAssertThrowsError(try SecretBox.open(Array(box.prefix(10)), key: key))
        XCTAssertThrowsError(try SecretBox.seal(secret, key: [1, 2, 3]))
        XCTAssertEqual(try SecretBox.open(try SecretBox.seal([], key: key), key: key), [])
    }
}

final class PasswordHashTests: XCTestCase {
    func testArgon2idHashAndVerify() throws {
        let hash = try PasswordHash.hash("correct horse", cost: .minimum)
        XCTAssertTrue(hash.hasPrefix("$argon2id$v=19$"))
        XCTAssertTrue(PasswordHash.verify("correct horse", against: hash))
        XCTAssertFalse(PasswordHash.verify("correct horsf", against: hash))
        XCTAssertFalse(PasswordHash.verify("", against: hash))
        XCTAssertFalse(PasswordHash.verify("correct horse", against: "$argon2id$garbage"))
        XCTAssertFalse(PasswordHash.verify("correct horse", against: "plain"))
        XCTAssertNotEqual(try PasswordHash.hash("correct horse", cost: .minimum), hash, "salted")
        XCTAssertTrue(PasswordHash.needsRehash(hash, cost: .interactive))
        XCTAssertFalse(PasswordHash.needsRehash(hash, cost: .minimum))
        XCTAssertThrowsError(try PasswordHash.hash(String(repeating: "x", count: 5000)))
    }

    func testInteractiveCostVerifies() throws {
        let hash = try PasswordHash.hash("admin password")
        XCTAssertTrue(hash.contains("m=65536"))
        XCTAssertTrue(PasswordHash.verify("admin password", against: hash))
    }
}
