// swift-tools-version:6.0
// OpenIEC — an open Identity Edge Controller. Keep this buildable by Swift 6.0:
// the arm64 gateway build uses Debian 13's swiftlang 6.0.3.
import PackageDescription

/// One settings list for every Swift target (STYLE habit 13).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "OpenIEC",
    products: [
        .executable(name: "iecutil", targets: ["iecutil"]),
        .executable(name: "iec-am", targets: ["iec-am"]),
        .executable(name: "iecservice", targets: ["iecservice"]),
        .library(name: "IECCrypto", targets: ["IECCrypto"]),
        .library(name: "JOSE", targets: ["JOSE"]),
        .library(name: "iecclient", type: .dynamic, targets: ["IECClientC"]),
        .executable(name: "iec-sdk-examples", targets: ["iec-sdk-examples"]),
        .executable(name: "iec-bench", targets: ["iec-bench"]),
    ],
    targets: [
        // C libraries: one system-library target each, imported by exactly one Swift module.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CZMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLDAP", pkgConfig: "ldap", providers: [.apt(["libldap-dev"])]),

        // Duktape compiled from the amalgamated source Debian's duktape-dev ships
        // (/usr/share/duktape), with the execution-timeout hook Debian's .so lacks.
        .target(name: "CDuktape", cSettings: [.unsafeFlags(["-O2", "-w"])], linkerSettings: [.linkedLibrary("m")]),

        // Wrappers: the only importers of their C libraries.
        .target(name: "IECCrypto", dependencies: ["COpenSSL", "CSodium"], swiftSettings: swiftSettings),
        .target(name: "HTTPClient", dependencies: ["CCurl"], swiftSettings: swiftSettings),
        .target(name: "IECLogFile", dependencies: ["CZlib", "IECLog"], swiftSettings: swiftSettings),
        .target(name: "Messaging", dependencies: ["CZMQ", "IECCrypto", "IECJSON", "IECLog"], swiftSettings: swiftSettings),
        .target(name: "Scripting", dependencies: ["CDuktape", "IECJSON"], swiftSettings: swiftSettings),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "IECJSON", "IECLog"], swiftSettings: swiftSettings),
        .target(name: "StoreSQLite", dependencies: ["SQLiteKit", "Store", "IECJSON"], swiftSettings: swiftSettings),
        .target(name: "LDAPKit", dependencies: ["CLDAP"], swiftSettings: swiftSettings),
        .target(name: "StoreLDAP", dependencies: ["LDAPKit", "Store", "IECJSON", "IECCrypto"], swiftSettings: swiftSettings),

        // Pure modules.
        .target(name: "IECJSON", swiftSettings: swiftSettings),
        .target(name: "IECLog", swiftSettings: swiftSettings),
        .target(name: "IECConfig", dependencies: ["IECJSON", "IECCrypto"], swiftSettings: swiftSettings),
        .target(name: "IECCLI", swiftSettings: swiftSettings),
        .target(name: "JOSE", dependencies: ["IECCrypto", "IECJSON"], swiftSettings: swiftSettings),
        .target(name: "Store", dependencies: ["IECJSON"], swiftSettings: swiftSettings),
        .target(name: "OAuth2", dependencies: ["Store", "JOSE", "IECCrypto", "IECJSON"], swiftSettings: swiftSettings),

        .target(
            name: "IECRealm", dependencies: ["OAuth2", "Store", "Scripting", "JOSE", "IECCrypto", "IECJSON"], swiftSettings: swiftSettings),

        .target(
            name: "IECGateway",
            dependencies: ["Messaging", "HTTPClient", "IECConfig", "JOSE", "IECCrypto", "IECJSON", "IECLog"],
            swiftSettings: swiftSettings),

        .target(name: "SQLiteKit", dependencies: ["CSQLite", "Store"], swiftSettings: swiftSettings),
        .target(
            name: "IECGatewayStore", dependencies: ["SQLiteKit", "IECGateway", "Store", "IECCrypto", "IECJSON"], swiftSettings: swiftSettings),

        // Compositions.
        .target(
            name: "IECAM",
            dependencies: ["HTTPServer", "OAuth2", "IECRealm", "Scripting", "Store", "StoreSQLite", "StoreLDAP", "JOSE", "IECCrypto", "IECJSON", "IECLog", "IECConfig", "IECCLI"],
            swiftSettings: swiftSettings),

        .target(
            name: "IECServiceApp",
            dependencies: ["IECGateway", "IECGatewayStore", "IECConfig", "IECCLI", "IECJSON", "IECLog", "IECLogFile"],
            swiftSettings: swiftSettings),

        // Commands, then thin executables.
        .target(
            name: "IECUtilCommands",
            dependencies: ["IECCLI", "IECCrypto", "JOSE", "IECJSON", "HTTPClient", "IECConfig", "IECGateway", "IECGatewayStore"],
            swiftSettings: swiftSettings),
        .executableTarget(name: "iecutil", dependencies: ["IECUtilCommands", "IECCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "iec-am", dependencies: ["IECAM", "IECCLI"], swiftSettings: swiftSettings),
        .executableTarget(name: "iecservice", dependencies: ["IECServiceApp", "IECCLI"], swiftSettings: swiftSettings),

        .target(name: "IECTestSupport", dependencies: ["IECJSON"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "IECJSONTests", dependencies: ["IECJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "IECCryptoTests", dependencies: ["IECCrypto", "IECJSON", "IECTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "JOSETests", dependencies: ["JOSE", "IECCrypto", "IECJSON", "IECTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "IECUtilTests", dependencies: ["IECUtilCommands", "IECCLI", "IECJSON", "JOSE", "IECCrypto", "IECTestSupport"], swiftSettings: swiftSettings),
        .target(name: "StoreConformance", dependencies: ["Store", "IECJSON"], path: "Tests/StoreConformance", swiftSettings: swiftSettings),
        .testTarget(name: "StoreSQLiteTests", dependencies: ["StoreSQLite", "SQLiteKit", "StoreConformance", "Store", "IECJSON"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StoreLDAPTests", dependencies: ["StoreLDAP", "LDAPKit", "StoreConformance", "Store", "IECJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPClient", "IECJSON", "IECLog"], swiftSettings: swiftSettings),
        .testTarget(name: "OAuth2Tests", dependencies: ["OAuth2", "IECAM", "StoreSQLite", "Store", "JOSE", "IECCrypto", "IECJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "IECRealmTests", dependencies: ["IECRealm", "IECAM", "OAuth2", "StoreSQLite", "Store", "JOSE", "IECCrypto", "IECJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "IECGatewayTests", dependencies: ["IECGateway", "IECConfig", "IECJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "IECAMTests", dependencies: ["IECAM", "IECConfig", "IECJSON", "HTTPClient"], swiftSettings: swiftSettings),
        .testTarget(name: "ScriptingTests", dependencies: ["Scripting", "IECJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "MessagingTests", dependencies: ["Messaging", "IECCrypto", "IECJSON", "IECLog"], swiftSettings: swiftSettings),
        .testTarget(name: "IECLogFileTests", dependencies: ["IECLogFile", "IECLog"], swiftSettings: swiftSettings),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient"], swiftSettings: swiftSettings),

        // The SDK: IECClient (Swift API); IECClientC, the C API of include/libiecclient.h, is libiecclient.so:
        // self-contained (the Swift runtime linked in statically, its symbols not exported), so never a dependency of tests.
        .target(
            name: "IECClient",
            dependencies: ["Messaging", "IECGateway", "IECGatewayStore", "IECConfig", "IECCrypto", "IECJSON", "IECLog", "IECLogFile"],
            swiftSettings: swiftSettings),
        .target(
            name: "IECClientC", dependencies: ["IECClient", "IECJSON"], exclude: ["libiecclient.map"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "--no-undefined", "-Xlinker", "--exclude-libs=ALL", "-Xlinker",
                "--version-script=" + String(#filePath.dropLast("Package.swift".count)) + "Sources/IECClientC/libiecclient.map"])]),
        .executableTarget(name: "iec-sdk-examples", dependencies: ["IECClient", "IECJSON"], path: "examples/swift", swiftSettings: swiftSettings),
        // bench/'s load driver: SDK clients against iecservice, and the identity store at scale.
        .executableTarget(
            name: "iec-bench", dependencies: ["IECCLI", "IECClient", "StoreSQLite", "Store", "IECJSON"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IECClientTests", dependencies: ["IECClient", "Messaging", "IECCrypto", "IECJSON", "IECLog", "IECConfig", "IECGatewayStore"],
            swiftSettings: swiftSettings),
    ]
)
