"""Scaling ``by llm()`` out of one process: shipping functions to workers, Ray Data and Dask.

* :mod:`byllm.scale.shipping`: by-llm functions, models and errors cross process
  boundaries (pickle, cloudpickle) and are rebuilt on the worker.
* :mod:`byllm.scale.ray`: a callable class for ``Dataset.map_batches`` (extra ``ray``).
* :mod:`byllm.scale.dask`: partition functions for ``dask.bag`` / ``dask.dataframe`` (extra ``dask``).

Ray and Dask are imported only by the modules that need them.
"""
