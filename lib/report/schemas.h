// The "schema" names of the JSON documents xformer-bench writes, defined once: `compare`, `plot`
// and `sweep --status` recognise a file by this field. The trailing number is the layout's version.
#pragma once

namespace xb {

// `run` reports, and the report a failed sweep cell leaves
inline constexpr const char* kRunSchema = "xformer-bench/run/1";
// `speed`
inline constexpr const char* kSpeedSchema = "xformer-bench/speed/1";
// `speed --kernel`
inline constexpr const char* kKernelSpeedSchema = "xformer-bench/kernel-speed/1";
// `evaluate`
inline constexpr const char* kEvaluationSchema = "xformer-bench/evaluation/1";
// `sweep --slurm`: a submitted job's cells
inline constexpr const char* kSlurmJobSchema = "xformer-bench/slurm-job/1";

}  // namespace xb
