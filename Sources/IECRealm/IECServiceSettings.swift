public import IECJSON

/// The realm's IEC service settings (the seed's "IEC Service" added to the
/// realm, section 1.1.4), kept in the realm settings' `iec` member.
public struct IECServiceSettings: Sendable, Hashable {
    /// `regIssuerName`: the `iss` of gateways' registration ID tokens.
    public var idTokenIssuer = "edge-device"
    /// `regAudienceName`.
    public var idTokenAudience = "am.iec.com"
    /// `regVendorSecret`: HMAC key of registration ID tokens.
    public var vendorSecret = ""
    /// Key id of the realm's `challenge` signing key (`regChallengeSigningKey`).
    public var challengeKeyID = ""
    public var createRegAuthFlows = true
    public var loadDefaultRegScripts = true
    public var loadDefaultCommandScripts = true
    public var defaultScript = "[Empty]"
    /// Command name → script name (`commandScripts`); unmapped commands answer
    /// "no script found for command".
    public var commandScripts: [String: String] = DefaultScripts.commandMapping
    /// The attestation script run for REGISTER_DEVICE, when set.
    public var attestationScript: String?
    /// Node sessions (the gateway's): idle timeout and maximum life, in seconds.
    public var sessionIdleTimeout: Double = 1800
    public var sessionMaxLifetime: Double = 7200
    /// Longest a registration ID token may live (`exp - iat`), in seconds.
    public var maxIDTokenLifetime: Double = 3600

    public init() {}

    public init(json: JSONValue?) {
        guard let json else { return }
        idTokenIssuer = json["id_token_issuer"]?.stringValue ?? idTokenIssuer
        idTokenAudience = json["id_token_audience"]?.stringValue ?? idTokenAudience
        vendorSecret = json["vendor_secret"]?.stringValue ?? vendorSecret
        challengeKeyID = json["challenge_key_id"]?.stringValue ?? challengeKeyID
        createRegAuthFlows = json["create_reg_auth_flows"]?.boolValue ?? createRegAuthFlows
        loadDefaultRegScripts = json["load_default_reg_scripts"]?.boolValue ?? loadDefaultRegScripts
        loadDefaultCommandScripts = json["load_default_command_scripts"]?.boolValue ?? loadDefaultCommandScripts
        defaultScript = json["default_script"]?.stringValue ?? defaultScript
        if let mapping = json["command_scripts"]?.objectValue {
            commandScripts = mapping.compactMapValues(\.stringValue)
        }
        attestationScript = json["attestation_script"]?.stringValue
        sessionIdleTimeout = json["session_idle_timeout"]?.doubleValue ?? sessionIdleTimeout
        sessionMaxLifetime = json["session_max_lifetime"]?.doubleValue ?? sessionMaxLifetime
        maxIDTokenLifetime = json["max_id_token_lifetime"]?.doubleValue ?? maxIDTokenLifetime
    }

    public var json: JSONValue {
        [
            "id_token_issuer": .string(idTokenIssuer), "id_token_audience": .string(idTokenAudience),
            "vendor_secret": .string(vendorSecret), "challenge_key_id": .string(challengeKeyID),
            "create_reg_auth_flows": .bool(createRegAuthFlows), "load_default_reg_scripts": .bool(loadDefaultRegScripts),
            "load_default_command_scripts": .bool(loadDefaultCommandScripts), "default_script": .string(defaultScript),
            "command_scripts": .object(commandScripts.mapValues(JSONValue.string)),
            "attestation_script": attestationScript.map(JSONValue.string) ?? .null,
            "session_idle_timeout": .double(sessionIdleTimeout), "session_max_lifetime": .double(sessionMaxLifetime),
            "max_id_token_lifetime": .double(maxIDTokenLifetime),
        ]
    }
}

