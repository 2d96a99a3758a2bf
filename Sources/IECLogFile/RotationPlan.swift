/// What one rotation (or a clean-up) does to the backups next to the log file,
/// worked out from a folder listing with no I/O (STYLE habit 4): the caller
/// lists, calls ``make(backups:temporaries:base:maxBackups:maxAgeSeconds:now:shifting:)``
/// and performs the removals, then the renames, in order.
///
/// Backups are `BASE.1` (newest) … `BASE.N`, each maybe with `.gz`; `BASE.N.gz.tmp`
/// is a compression that was cut short and is always removed.
struct RotationPlan: Hashable, Sendable {
    struct Rename: Hashable, Sendable {
        var from: String
        var to: String
    }

    /// Names to remove, first.
    var removals: [String] = []
    /// Names to rename, after the removals, in this order (oldest first, so no rename overwrites a backup).
    var renames: [Rename] = []

    /// One backup found in the folder.
    struct Backup: Hashable, Sendable {
        var index: Int
        var compressed: Bool
        /// Modification time, seconds since the epoch.
        var modified: Int

        func name(base: String) -> String { "\(base).\(index)" + (compressed ? ".gz" : "") }
    }

    /// What a folder entry is to the log file called `base`.
    enum Entry: Hashable, Sendable {
        case backup(index: Int, compressed: Bool)
        case temporary
    }

    static let compressedSuffix = ".gz"
    static let temporarySuffix = ".gz.tmp"

    /// Recognises `BASE.N`, `BASE.N.gz` and `BASE.N.gz.tmp` (N from 1, decimal, no leading zero); nil for anything else.
    static func classify(_ name: String, base: String) -> Entry? {
        guard name.utf8.starts(with: (base + ".").utf8) else { return nil }
        var rest = Substring(name.utf8.dropFirst(base.utf8.count + 1))
        var entry: (Int) -> Entry = { .backup(index: $0, compressed: false) }
        if rest.hasSuffix(temporarySuffix) {
            rest = rest.dropLast(temporarySuffix.utf8.count)
            entry = { _ in .temporary }
        } else if rest.hasSuffix(compressedSuffix) {
            rest = rest.dropLast(compressedSuffix.utf8.count)
            entry = { .backup(index: $0, compressed: true) }
        }
        guard !rest.isEmpty, rest.utf8.count <= 9, rest.utf8.first != UInt8(ascii: "0"),
              rest.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let index = Int(rest)
        else { return nil }
        return entry(index)
    }

    /// The plan for the backups found.
    ///
    /// - Parameters:
    ///   - maxBackups: how many backups to keep after the operation (0 keeps none).
    ///   - maxAgeSeconds: backups modified longer ago than this are removed; 0 keeps any age.
    ///   - shifting: true for a rotation (every kept backup moves up one, making room for `.1`);
    ///     false for a clean-up at start-up, which only removes.
    static func make(backups: [Backup], temporaries: [String], base: String, maxBackups: Int, maxAgeSeconds: Int, now: Int,
                     shifting: Bool) -> RotationPlan {
        var plan = RotationPlan()
        plan.removals = temporaries.sorted()
        let limit = shifting ? maxBackups - 1 : maxBackups
        var kept: [Backup] = []
        for backup in backups.sorted(by: { ($0.index, $0.compressed ? 1 : 0) > ($1.index, $1.compressed ? 1 : 0) }) {
            let tooOld = maxAgeSeconds > 0 && now - backup.modified > maxAgeSeconds
            if backup.index > limit || tooOld {
                plan.removals.append(backup.name(base: base))
            } else {
                kept.append(backup)
            }
        }
        if shifting {
            plan.renames = kept.map { backup in
                var moved = backup
                moved.index += 1
                return Rename(from: backup.name(base: base), to: moved.name(base: base))
            }
        }
        return plan
    }
}
