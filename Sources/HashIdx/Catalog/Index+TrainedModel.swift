extension Index {
    /// This index's trained model, to build indexes that hash and partition as it does
    /// (``BuildOptions/trainedModel``).
    public var trainedModel: TrainedModel {
        TrainedModel(model: manifest.model, centroids: manifest.centroids, training: manifest.training,
                     rerank: manifest.rerank, blendWeight: manifest.blendWeight)
    }
}
