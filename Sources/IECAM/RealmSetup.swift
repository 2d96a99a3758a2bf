public import IECCrypto
public import IECJSON
public import JOSE
public import OAuth2
public import Store
public import IECRealm

/// What `iec-am setup` does, in one idempotent step: the seed's section 1.1.4 without the clicks.
public struct RealmSetup: Sendable {
    public struct Options: Sendable {
        public var realm = "edge"
        public var adminUsername = "amadmin"
        /// Nil keeps an existing admin's password (and fails when there is no admin yet).
        public var adminPassword: String?
        public var idTokenIssuer: String?
        public var idTokenAudience: String?
        /// Nil generates one for a new realm and keeps an existing one.
        public var vendorSecret: String?
        public var verificationURL: String?
        public var passwordCost: PasswordHash.Cost = .interactive

        public init() {}
    }

    /// What setup found or made.
    public struct Outcome: Sendable {
        public var createdAdmin: Bool
        public var updatedAdminPassword: Bool
        public var createdRealm: Bool
        public var createdChallengeKey: Bool
        public var iec: IECServiceSettings
        /// `am_public_key` for the gateway's iec-config.json: base64 SPKI of the challenge key.
        public var challengePublicKey: String
    }

    public let store: any Store
    public let clock: any WallClock

    public init(store: any Store, clock: any WallClock = SystemClock()) {
        self.store = store
        self.clock = clock
    }

    public func run(_ options: Options) throws -> Outcome {
        let now = clock.now
        guard RealmSetup.isValidRealmName(options.realm), options.realm != "root" else {
            throw SetupError("realm names are 1 to 64 letters, digits, '-' or '_' (and not \"root\")")
        }
        // The administrators' realm.
        if try store.realm(named: "root") == nil {
            try store.putRealm(RealmRecord(name: "root", settings: ["oauth2": OAuth2Settings().json], createdAt: now, updatedAt: now))
        }
        var createdAdmin = false
        var updatedAdminPassword = false
        if var admin = try store.user(realm: "root", username: options.adminUsername) {
            if let password = options.adminPassword, !PasswordHash.verify(password, against: admin.passwordHash) {
                admin.passwordHash = try PasswordHash.hash(password, cost: options.passwordCost)
                admin.updatedAt = now
                try store.updateUser(admin)
                updatedAdminPassword = true
            }
        } else {
            guard let password = options.adminPassword else {
                throw SetupError("there is no administrator \"\(options.adminUsername)\" yet: give a password")
            }
            try checkPasswordStrength(password)
            try store.createUser(
                UserRecord(
                    realm: "root", username: options.adminUsername, passwordHash: try PasswordHash.hash(password, cost: options.passwordCost),
                    roles: ["admin"], createdAt: now, updatedAt: now))
            createdAdmin = true
        }

        // The IoT realm with its OAuth2 provider and IEC service.
        let existing = try store.realm(named: options.realm)
        var settings = existing?.settings.objectValue ?? [:]
        var oauth2 = OAuth2Settings(json: settings["oauth2"])
        oauth2.dynamicProfileCreation = true
        if let url = options.verificationURL { oauth2.verificationURL = url }
        settings["oauth2"] = oauth2.json
        var iec = IECServiceSettings(json: settings["iec"])
        if let issuer = options.idTokenIssuer { iec.idTokenIssuer = issuer }
        if let audience = options.idTokenAudience { iec.idTokenAudience = audience }
        if let secret = options.vendorSecret {
            iec.vendorSecret = secret
        } else if iec.vendorSecret.isEmpty {
            iec.vendorSecret = Base64.urlEncode(SecureRandom.bytes(32))
        }
        // A fresh challenge signing key per realm: never a shared test key (the seed's es256test).
        var createdChallengeKey = false
        var challengeKeys = try store.signingKeys(realm: options.realm, purpose: SigningKeyPurpose.challenge)
        if !challengeKeys.contains(where: { $0.status == .active }) {
            let jwk = JWK(privateKey: try P256.PrivateKey())
            let record = SigningKeyRecord(
                realm: options.realm, keyID: jwk.thumbprint(), purpose: SigningKeyPurpose.challenge, privateJWK: jwk.json, status: .active,
                createdAt: now)
            try store.putSigningKey(record)
            challengeKeys.append(record)
            createdChallengeKey = true
        }
        let challenge = challengeKeys.last { $0.status == .active }!
        iec.challengeKeyID = challenge.keyID
        settings["iec"] = iec.json
        if settings["verification_secret"] == nil {
            settings["verification_secret"] = .string(Base64.urlEncode(SecureRandom.bytes(32)))
        }
        try store.putRealm(
            RealmRecord(name: options.realm, settings: .object(settings), createdAt: existing?.createdAt ?? now, updatedAt: now))
        // The first token signing key.
        if try store.signingKeys(realm: options.realm, purpose: SigningKeyPurpose.token).isEmpty {
            let jwk = JWK(privateKey: try P256.PrivateKey())
            try store.putSigningKey(
                SigningKeyRecord(
                    realm: options.realm, keyID: jwk.thumbprint(), purpose: SigningKeyPurpose.token, privateJWK: jwk.json, status: .active,
                    createdAt: now))
        }
        // The default command scripts (the original's loadDefaultCommandScripts), and the
        // documented examples, unmapped. Existing scripts are left as the admin made them.
        if let scripts = store as? any Store {
            var wanted: [(String, String, String, String)] = DefaultScripts.commandMapping.values.sorted().map {
                ($0, "command", DefaultScripts.source(for: $0)!, "Default script of a built-in command")
            }
            wanted.append((DefaultScripts.helloWorldName, "command", DefaultScripts.helloWorld, "Example custom command (not mapped by default)"))
            wanted.append((DefaultScripts.attestationExampleName, "attestation", DefaultScripts.attestationExample, "Example attestation script (not set by default)"))
            for (name, kind, source, description) in wanted where try scripts.script(realm: options.realm, name: name) == nil {
                try scripts.putScript(ScriptRecord(realm: options.realm, name: name, kind: kind, source: source, description: description, createdAt: now, updatedAt: now))
            }
        }
        let challengePublic = try JWK(json: challenge.privateJWK).publicKey()
        return Outcome(
            createdAdmin: createdAdmin, updatedAdminPassword: updatedAdminPassword, createdRealm: existing == nil,
            createdChallengeKey: createdChallengeKey, iec: iec, challengePublicKey: Base64.encode(challengePublic.derRepresentation))
    }

    public static func isValidRealmName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    func checkPasswordStrength(_ password: String) throws {
        guard password.count >= 8 else { throw SetupError("the administrator password must have at least 8 characters") }
    }
}

public struct SetupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
