// Values that are more than a figure but carry some (a zero-shot report, a comparison, a
// distillation report): a notebook shows their text and embeds their figures as SVG files.
public protocol FigureCarrying: HostObject {
    var figures: [Figure] { get }
}
