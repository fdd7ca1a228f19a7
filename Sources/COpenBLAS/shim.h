// OpenBLAS from the system (Debian: libopenblas-dev): CBLAS, and the few LAPACK routines
// training uses, declared here with the Fortran calling convention (OpenBLAS ships LAPACK
// without the LAPACKE C interface). Character arguments carry their hidden lengths at the
// end, as gfortran expects.
#include <stddef.h>
#include <cblas.h>

/// Eigenvalues (ascending) and eigenvectors of a symmetric matrix (divide and conquer).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_length, size_t uplo_length);

/// Singular value decomposition A = U Σ Vᵀ (divide and conquer).
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s, double *u,
             const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork, int *iwork, int *info,
             size_t jobz_length);
