public import IECCrypto
public import IECJSON
internal import Synchronization

/// A JSON Web Key (RFC 7517) of the two types OpenIEC uses: EC P-256 (`kty`
/// `EC`) and symmetric (`kty` `oct`). Members other than the ones below are
/// kept as they came, so a JWK read and written again keeps what we don't use.
public struct JWK: Sendable, Hashable {
    public enum KeyType: String, Sendable, Hashable {
        case ec = "EC"
        case oct = "oct"
    }

    public let keyType: KeyType
    /// All members, as JSON. The typed accessors below read from it.
    public private(set) var members: [String: JSONValue]

    public var keyID: String? { members["kid"]?.stringValue }
    public var algorithm: String? { members["alg"]?.stringValue }
    public var use: String? { members["use"]?.stringValue }
    public var isPrivate: Bool { members["d"] != nil || keyType == .oct }

    /// Reads a JWK, checking the members its type requires.
    public init(json: JSONValue) throws {
        guard case .object(let members) = json else { throw JOSEError(.invalidKey, "a JWK is a JSON object") }
        guard let kty = members["kty"]?.stringValue else { throw JOSEError(.invalidKey, "the JWK has no \"kty\"") }
        guard let keyType = KeyType(rawValue: kty) else {
            throw JOSEError(.invalidKey, "JWK key type \"\(kty.prefix(16))\" is not supported (EC P-256 and oct only)")
        }
        for name in ["kid", "alg", "use", "crv", "x", "y", "d", "k"] {
            if let value = members[name], value.stringValue == nil {
                throw JOSEError(.invalidKey, "the JWK member \"\(name)\" must be a string")
            }
        }
        self.keyType = keyType
        self.members = members
        switch keyType {
        case .ec:
            guard members["crv"]?.stringValue == "P-256" else { throw JOSEError(.invalidKey, "only the EC curve P-256 is supported") }
            _ = try publicKey()
            if members["d"] != nil { _ = try privateKey() }
        case .oct:
            _ = try symmetricKey()
        }
    }

    /// The public JWK of a P-256 key. `kid` defaults to the RFC 7638 thumbprint.
    public init(publicKey: P256.PublicKey, keyID: String? = nil, use: String? = "sig", algorithm: JWSAlgorithm? = .es256) {
        let (x, y) = publicKey.rawCoordinates
        var members: [String: JSONValue] = [
            "kty": "EC", "crv": "P-256", "x": .string(Base64.urlEncode(x)), "y": .string(Base64.urlEncode(y)),
        ]
        if let use { members["use"] = .string(use) }
        if let algorithm { members["alg"] = .string(algorithm.rawValue) }
        self.keyType = .ec
        self.members = members
        self.members["kid"] = .string(keyID ?? thumbprint())
    }

    /// The private JWK (with `d`) of a P-256 key.
    public init(privateKey: P256.PrivateKey, keyID: String? = nil, use: String? = "sig", algorithm: JWSAlgorithm? = .es256) {
        self.init(publicKey: privateKey.publicKey, keyID: keyID, use: use, algorithm: algorithm)
        members["d"] = .string(Base64.urlEncode(privateKey.rawRepresentation))
    }

    /// A symmetric JWK (`oct`).
    public init(symmetricKey: [UInt8], keyID: String? = nil, algorithm: JWSAlgorithm? = .hs256) {
        var members: [String: JSONValue] = ["kty": "oct", "k": .string(Base64.urlEncode(symmetricKey))]
        if let algorithm { members["alg"] = .string(algorithm.rawValue) }
        self.keyType = .oct
        self.members = members
        self.members["kid"] = .string(keyID ?? thumbprint())
    }

    /// The JWK as JSON.
    public var json: JSONValue { .object(members) }

    /// This key without its private members: safe to publish.
    public var publicJWK: JWK {
        var copy = self
        copy.members["d"] = nil
        return copy
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256(the required members in
    /// lexicographic order, no whitespace)).
    public func thumbprint() -> String {
        let required: [String]
        switch keyType {
        case .ec: required = ["crv", "kty", "x", "y"]
        case .oct: required = ["k", "kty"]
        }
        var canonical: [String: JSONValue] = [:]
        for name in required { canonical[name] = members[name] }
        // JSONValue serialises compactly with members sorted: exactly RFC 7638's form.
        return Base64.urlEncode(SHA256.hash(JSONValue.object(canonical).serialized()))
    }

    /// The P-256 public key of an EC JWK.
    public func publicKey() throws -> P256.PublicKey {
        guard keyType == .ec else { throw JOSEError(.algorithmKeyMismatch, "the JWK is not an EC key") }
        guard let x = members["x"]?.stringValue.flatMap({ Base64.urlDecode($0) }), x.count == 32,
            let y = members["y"]?.stringValue.flatMap({ Base64.urlDecode($0) }), y.count == 32
        else { throw JOSEError(.invalidKey, "the JWK's \"x\" and \"y\" must be 32-byte base64url values") }
        if let known = PublicKeyCache.shared.key(x: x, y: y) { return known }
        do {
            let key = try P256.PublicKey(x: x, y: y)
            PublicKeyCache.shared.add(key, x: x, y: y)
            return key
        } catch {
            throw JOSEError(.invalidKey, "the JWK's point is not on the P-256 curve")
        }
    }

    /// The P-256 private key of an EC JWK holding `d`, checked against its `x` and `y`.
    public func privateKey() throws -> P256.PrivateKey {
        guard keyType == .ec else { throw JOSEError(.algorithmKeyMismatch, "the JWK is not an EC key") }
        guard let d = members["d"]?.stringValue.flatMap({ Base64.urlDecode($0) }), d.count == 32 else {
            throw JOSEError(.invalidKey, "the JWK's \"d\" must be a 32-byte base64url value")
        }
        let key: P256.PrivateKey
        do {
            key = try P256.PrivateKey(rawRepresentation: d)
        } catch {
            throw JOSEError(.invalidKey, "the JWK's \"d\" is not a valid P-256 private key")
        }
        guard key.publicKey == (try publicKey()) else {
            throw JOSEError(.invalidKey, "the JWK's \"d\" does not match its \"x\" and \"y\"")
        }
        return key
    }

    /// The secret of an `oct` JWK.
    public func symmetricKey() throws -> [UInt8] {
        guard keyType == .oct else { throw JOSEError(.algorithmKeyMismatch, "the JWK is not a symmetric key") }
        guard let k = members["k"]?.stringValue.flatMap({ Base64.urlDecode($0) }), !k.isEmpty else {
            throw JOSEError(.invalidKey, "the JWK's \"k\" must be a non-empty base64url value")
        }
        return k
    }
}

/// A JWK Set (RFC 7517 §5).
public struct JWKS: Sendable, Hashable {
    public var keys: [JWK]

    public init(keys: [JWK]) { self.keys = keys }

    /// Reads a JWK Set. Keys of types OpenIEC does not use (RSA, OKP, other
    /// curves) are skipped rather than failing the whole set, as RFC 7517 §5 asks;
    /// a set with no usable key at all is an error.
    public init(json: JSONValue) throws {
        guard let entries = json["keys"]?.arrayValue else { throw JOSEError(.invalidKey, "a JWK Set is an object with a \"keys\" array") }
        keys = entries.compactMap { try? JWK(json: $0) }
        guard !keys.isEmpty || entries.isEmpty else { throw JOSEError(.invalidKey, "the JWK Set holds no usable key") }
    }

    public init(jsonText: String) throws {
        do {
            try self.init(json: try JSONValue.parse(jsonText))
        } catch let error as JSONParseError {
            throw JOSEError(.invalidKey, "the JWK Set is not valid JSON: \(error)")
        }
    }

    /// The public set, safe to publish.
    public var json: JSONValue { .object(["keys": .array(keys.map { $0.publicJWK.json })]) }

    /// The keys that may verify a token with `algorithm` and `keyID`.
    public func candidates(for algorithm: JWSAlgorithm, keyID: String?) -> [JWK] {
        keys.filter { key in
            if let keyID, key.keyID != keyID { return false }
            if let alg = key.algorithm, alg != algorithm.rawValue { return false }
            if let use = key.use, use != "sig" { return false }
            switch algorithm {
            case .es256: return key.keyType == .ec
            case .hs256: return key.keyType == .oct
            }
        }
    }
}

/// P-256 public keys already built, by their coordinates. Building one costs
/// OpenSSL 3 more than the signature check it is for (`d2i_PUBKEY` runs the
/// provider decoders, under global locks), and the same few keys (the realm's
/// token keys, registered clients' and nodes' keys) verify request after
/// request. A key is a pure function of its point, so a cached one is the
/// same key; the cache is bounded and simply starts over when full.
final class PublicKeyCache: Sendable {
    static let shared = PublicKeyCache(limit: 4096)

    private let keys = Mutex<[[UInt8]: P256.PublicKey]>([:])
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func key(x: [UInt8], y: [UInt8]) -> P256.PublicKey? {
        let point = x + y
        return keys.withLock { $0[point] }
    }

    func add(_ key: P256.PublicKey, x: [UInt8], y: [UInt8]) {
        let point = x + y
        keys.withLock { keys in
            if keys.count >= limit { keys.removeAll(keepingCapacity: true) }
            keys[point] = key
        }
    }
}
