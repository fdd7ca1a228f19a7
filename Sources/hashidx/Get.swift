import ArgumentParser
import HashIdx
import HashIdxService

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an item's attributes (and, with --vector, its stored vector).",
        discussion: """
        Example:

          hashidx get shop.hidx --id sku-17
          hashidx get shop.hidx --id sku-17 --fields price,in_stock --vector

        Prints one JSON object: {"id": …, "attributes": {…}}, plus "vector" with
        --vector (the stored vector at its original length; float16 indexes store
        it to about 3 significant digits).
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Option(help: "The item's id.")
    var id: String

    @Option(help: "Comma-separated attributes to print (default: all the item has).")
    var fields: String?

    @Flag(help: "Print the stored vector too.")
    var vector = false

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let index = try Index(path: self.index)
            guard let row = try index.row(forID: id) else { throw .unknownID(id) }
            let list = fieldList(fields)
            let attributes = try index.attributes(ofRow: row, fields: list.isEmpty ? nil : list)
            print(ResponseEncoder.item(id: id, attributes: attributes, vector: vector ? try index.vector(ofRow: row) : nil))
        }
    }
}
