namespace PammCuda.Engine;

/// <summary>The two ways the GPU samples generators; both give exactly <see cref="Sampling.GeneratorSampler"/>'s rows.</summary>
internal enum SamplingPath
{
    /// <summary>One launch of one block (<c>pamm_sample_block</c>), no scratch: up to <see cref="PammKernels.SampleBlockRows"/> rows.</summary>
    OneBlock,

    /// <summary>A fill and three launches over the whole GPU (<c>pamm_sample_keys</c>, <c>pamm_sample_candidates</c>, <c>pamm_sample_scatter</c>) with scratch: any number of rows.</summary>
    MultiBlock,
}
