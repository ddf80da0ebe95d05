import TokenStore

/// `tokenstore recover PATH --drop-damaged-log`: salvage a store whose log is damaged.
enum RecoverCommand: Command {
    static let name = "recover"
    static let summary = "salvage a store whose log is damaged, reporting what is dropped"
    static let help = """
        Usage: tokenstore recover PATH --drop-damaged-log [--json]

        Opens a store that refuses to open because its write-ahead log is damaged (a
        corrupt error naming a wal-*.log file), keeps the log up to the damage, and drops
        everything after it, including valid writes: replaying writes past a hole would
        build a state no sequence of writes produced. Prints what was dropped: the damage,
        the log positions, how many writes could still be read there and their time range,
        and the files changed. A sound store is opened and closed unchanged ("nothing
        dropped").

        This is the operator's decision that a plain open never takes: copy the store
        directory first if the dropped writes may still matter. Damage to the manifest or
        a shard file is not salvaged here.

        Options:
          --drop-damaged-log  required: agree to drop the log from its first damage on
          --json              one JSON object: {"dropped":false} for a sound log, else
                              {"dropped":true,"damage":…,"from":LSN,"to":LSN,"bytes":N,
                               "writes":N,"writes_exact":B,"first_at":MS,"last_at":MS,"files":[…]}
        """
    static let spec = ArgumentSpec(positionals: ["PATH"], flags: ["--drop-damaged-log", "--json"])

    static func run(_ arguments: ParsedArguments, io: ToolIO) throws(CommandFailure) {
        guard arguments.has("--drop-damaged-log") else {
            throw .usage("--drop-damaged-log is required: recovery drops writes only when asked to")
        }
        let path = arguments.positionals[0]
        let dropped: DroppedLog?
        do {
            dropped = try TokenStore.recover(path: path)
        } catch {
            if error.code == .notFound { throw .store("no store at \(path)") }
            throw .store("cannot recover the store at \(path): \(error)")
        }
        let out = io.stdout
        if arguments.has("--json") {
            out.jsonLine { writer in
                writer.field("dropped", dropped != nil)
                guard let dropped else { return }
                writer.field("damage", dropped.reason)
                writer.field("from", Int64(truncatingIfNeeded: dropped.positions.lowerBound))
                writer.field("to", Int64(truncatingIfNeeded: dropped.positions.upperBound))
                writer.field("bytes", Int64(truncatingIfNeeded: dropped.positions.count))
                writer.field("writes", dropped.records)
                writer.field("writes_exact", dropped.countIsExact)
                if let times = dropped.times {
                    writer.field("first_at", times.lowerBound)
                    writer.field("last_at", times.upperBound)
                }
                writer.beginArray(key: "files")
                for file in dropped.files { writer.element(file) }
                writer.endArray()
            }
            return
        }
        guard let dropped else {
            out.line("nothing dropped: the log is sound")
            return
        }
        out.line("dropped the log from its damage on; the store opens again")
        out.line("damage:    \(dropped.reason)")
        out.line("positions: \(dropped.positions.lowerBound)..<\(dropped.positions.upperBound) (\(dropped.positions.count) bytes)")
        let count = "\(formatCount(dropped.records)) readable write\(dropped.records == 1 ? "" : "s")"
        out.line("writes:    " + (dropped.countIsExact ? count : "at least \(count) (part of the log could not be read)"))
        if let times = dropped.times {
            out.line("times:     \(TimeFormat.iso8601(milliseconds: times.lowerBound)) to \(TimeFormat.iso8601(milliseconds: times.upperBound))")
        } else {
            out.line("times:     none readable")
        }
        out.line("files:     \(dropped.files.joined(separator: ", "))")
    }
}
