/// The scripts every IEC realm starts with (the original's
/// `loadDefaultCommandScripts`): one per built-in command, each handing the
/// command to the built-in implementation. An administrator may replace any of
/// them — e.g. to add fields to a configuration or refuse tokens on a
/// condition — and the replacement runs in the sandbox instead.
///
/// What a script sees: `identity` (isDevice(), isClient(), isIec(), getName(),
/// getType(), getIec(), getParent(), getConfiguration(), getUserConfiguration(),
/// setUserConfiguration(value)), `params` (the command's parameters), `command`
/// (its name), and `builtin(params)`, which runs the built-in command and
/// returns its result. It sets `response` (any JSON value, a string included).
public enum DefaultScripts {
    /// Built-in command → default script name, as in the original's service settings.
    public static let commandMapping: [String: String] = [
        "REGISTER_CLIENT": "RegisterClient",
        "REGISTER_DEVICE": "RegisterDevice",
        "GET_IEC_CONFIG": "GetIecConfig",
        "GET_CLIENT_CONFIG": "GetClientConfig",
        "GET_CONFIG": "GetDeviceConfig",
        "GET_TOKENS": "GetDeviceTokens",
        "GET_USER_CODE": "GetUserCode",
        "GET_USER_TOKENS": "GetUserTokens",
        "INTROSPECT": "Introspect",
    ]

    /// The default source of each built-in command's script.
    public static func source(for scriptName: String) -> String? {
        guard commandMapping.values.contains(scriptName) else { return nil }
        return "// Default \(scriptName) script: runs the built-in command.\nresponse = builtin(params);\n"
    }

    /// The documented example, shipped but not mapped to any command.
    public static let helloWorldName = "HelloWorld"
    public static let helloWorld = """
        // HELLO_WORLD: an example custom command. Map it in the realm's IEC service
        // settings ("command_scripts": {"HELLO_WORLD": "HelloWorld"}) to try it.
        // It answers with a greeting naming the node, and counts its calls in the
        // node's user configuration.
        var calls = (identity.getUserConfiguration().helloWorldCalls || 0) + 1;
        var userConfiguration = identity.getUserConfiguration();
        userConfiguration.helloWorldCalls = calls;
        identity.setUserConfiguration(userConfiguration);
        response = {
            message: "Hello World from " + identity.getName(),
            type: identity.getType(),
            calls: calls,
            params: params
        };
        """

    /// An example attestation script (not set by default): accepts devices whose
    /// registration data says `{"custom_data": "here"}`, as the original's example sends.
    public static let attestationExampleName = "CustomDeviceAttestation"
    public static let attestationExample = """
        // Attestation: decide whether a device may register, from the
        // registration data its client sent (discarded after this script).
        var data = verifiedClaims.registration_data || {};
        authState = (data.custom_data === "here") ? "SUCCESS" : "FAILURE";
        """

    /// The JavaScript that builds `identity` from the host's JSON for every script.
    static let prelude = """
        var identity = (function (node) {
            var userConfiguration = node.userConfiguration;
            return {
                isDevice: function () { return node.type === "device"; },
                isClient: function () { return node.type === "client"; },
                isIec: function () { return node.type === "iec"; },
                getName: function () { return node.id; },
                getType: function () { return node.type; },
                getIec: function () { return node.iec; },
                getParent: function () { return node.parent; },
                getConfiguration: function () { return JSON.parse(JSON.stringify(node.configuration)); },
                getUserConfiguration: function () { return JSON.parse(JSON.stringify(userConfiguration)); },
                setUserConfiguration: function (value) {
                    userConfiguration = JSON.parse(JSON.stringify(value));
                    __setUserConfiguration(userConfiguration);
                }
            };
        })(__identity);
        delete __identity;
        """
}
