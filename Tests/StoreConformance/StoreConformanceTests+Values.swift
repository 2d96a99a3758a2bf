public import IECJSON
import Store
import XCTest

// Exact round trips of text and JSON.
extension StoreConformanceTests {
    /// Text in several scripts and forms: precomposed and combining accents,
    /// a character whose NFC form differs, emoji sequences, right-to-left text,
    /// a line separator and a byte-order mark. Must come back byte for byte.
    public static let unicodeSamples = [
        "Zoë", "Zoe\u{308}", "\u{212B}ngstr\u{F6}m", "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}", "\u{5E9}\u{5DC}\u{5D5}\u{5DD}",
        "\u{65E5}\u{672C}\u{8A9E}", "line\u{2028}separator", "\u{FEFF}bom", "\u{1D11E} clef", "tab\tnew\nline",
    ]

    public func unicodeRoundTripsExactly() throws {
        let store = try makeStore()
        let samples = Self.unicodeSamples
        var user = makeUser("z\u{F6}\u{1F600}", realm: "r\u{E9}alm")
        user.roles = samples
        user.passwordHash = samples.joined(separator: "|")
        user.attributes = .object(Dictionary(uniqueKeysWithValues: samples.enumerated().map { ("\($1)#\($0)", .string($1)) }))
        try store.createUser(user)
        assertIdentical(try store.user(realm: "r\u{E9}alm", username: "z\u{F6}\u{1F600}"), user)
        XCTAssertEqual(try store.listUsers(realm: "r\u{E9}alm", page: PageRequest()).items.map { Array($0.username.utf8) }, [Array(user.username.utf8)])

        var client = makeClient("\u{1F680}-client", realm: "r\u{E9}alm")
        client.name = samples.joined(separator: " ")
        client.scopes = samples
        try store.createClient(client)
        assertIdentical(try store.client(realm: "r\u{E9}alm", clientID: "\u{1F680}-client"), client)

        var event = makeEvent(realm: "r\u{E9}alm", action: "\u{7F16}\u{8F91}")
        event.details = .array(samples.map(JSONValue.string))
        event.target = samples[2]
        let stored = try store.appendAudit(event)
        assertIdentical(try store.recentAudit(realm: "r\u{E9}alm", limit: 1, before: nil).first, stored)
    }

    /// Every JSON type, integer extremes, doubles that need all their digits,
    /// escapes (NUL and controls inside strings), and deep nesting.
    public static let awkwardJSON: JSONValue = [
        "null": nil, "true": true, "false": false,
        "intMax": .int(Int64.max), "intMin": .int(Int64.min), "zero": 0, "wholeDouble": .double(3.0),
        "tenth": .double(0.1), "tiny": .double(.leastNonzeroMagnitude), "huge": .double(-1.7976931348623157e308), "exp": .double(6.02214076e23),
        "controls": .string("nul\u{0}bell\u{7}esc\u{1B}del\u{7F}quote\"backslash\\slash/"),
        "unicode": .array(unicodeSamples.map(JSONValue.string)),
        "empty": ["object": [:], "array": [], "string": ""],
        "deep": (0..<30).reduce(JSONValue.string("bottom")) { inner, level in ["level\(level)": inner] },
    ]

    public func jsonValuesRoundTripExactly() throws {
        let store = try makeStore()
        let realm = RealmRecord(name: "edge", settings: Self.awkwardJSON, createdAt: Self.t0, updatedAt: Self.t0)
        try store.putRealm(realm)
        assertIdentical(try store.realm(named: "edge"), realm)
        XCTAssertEqual(try store.realm(named: "edge")?.settings.serialized(), Self.awkwardJSON.serialized())

        var token = makeRefreshToken("rt-json")
        token.attributes = Self.awkwardJSON
        try store.createRefreshToken(token)
        assertIdentical(try store.refreshToken(hash: "rt-json"), token)

        var session = makeSession("s-json")
        session.attributes = Self.awkwardJSON
        try store.createSession(session)
        assertIdentical(try store.session(idHash: "s-json"), session)
    }

    /// About 300 KB of JSON in one value (a large JWKS or settings document).
    public func largeJSONRoundTripsExactly() throws {
        let store = try makeStore()
        let keys: [JSONValue] = (0..<1500).map { index in
            ["kid": .string("key-\(index)"), "kty": "EC", "crv": "P-256", "x": .string(String(repeating: "x", count: 43)),
             "y": .string(String(repeating: "y", count: 43)), "use": "sig", "n": .int(Int64(index))]
        }
        var client = makeClient("big")
        client.jwks = ["keys": .array(keys)]
        client.attributes = ["blob": .string(String(repeating: "0123456789abcdef", count: 8192))]
        XCTAssertGreaterThan(client.jwks!.serialized().utf8.count + client.attributes.serialized().utf8.count, 250_000)
        try store.createClient(client)
        assertIdentical(try store.client(realm: "edge", clientID: "big"), client)

        var key = makeKey("big-key")
        key.privateJWK = ["kty": "RSA", "kid": "big-key", "d": .string(String(repeating: "Zm9v", count: 30_000))]
        try store.putSigningKey(key)
        assertIdentical(try store.signingKeys(realm: "edge", purpose: "token").first, key)
    }

    /// Times with fractions of a second, and far in the future.
    public func timestampsRoundTripExactly() throws {
        let store = try makeStore()
        var code = makeDeviceCode("dc-time", userCode: "TIMECODE", expiresAt: Self.t0 + 600.123456789)
        code.lastPolledAt = Self.t0 + 0.000_001
        code.interval = 5.5
        try store.createDeviceCode(code)
        assertIdentical(try store.deviceCode(hash: "dc-time"), code)

        let event = makeEvent(action: "far", at: 32_503_680_000.25)  // year 3000
        let stored = try store.appendAudit(event)
        XCTAssertEqual(try store.recentAudit(realm: "edge", limit: 1, before: nil).first?.time, stored.time)
    }
}
