"""devhost: Tagarela's local runtime, a stand-in for the Azure Functions host that we write ourselves.

Why it exists: the Functions host (Core Tools downloads it from a CDN) and the Durable extension
cannot be installed on our machines, and nothing installable from PyPI or npm serves a v2-model
Python app the way the host does. So devhost reads the app's own function metadata
(``FunctionApp.get_functions()``, see ``function_index``) and serves it:

* ``functions_host`` — every HTTP trigger over real HTTP: route prefix from ``host.json``,
  ASP.NET route templates and precedence, 404 for an unknown route or method (as the host),
  ``func.HttpRequest``/``HttpResponse`` conversion as the host and the Python worker do it,
  worker-style argument binding
  (trigger, ``context``, ``durableClient``), a 100 MB body limit, one log line per request;
* ``durable`` — the Durable extension's HTTP management API and an orchestration replay driver;
* ``azurite`` — starts and watches Azurite (npm) when ``AzureWebJobsStorage`` is local;
* ``local_settings`` — ``local.settings.json`` ``Values`` into the environment, like Core Tools;
* ``python -m devhost`` — the launcher, our ``func start``.

What it does NOT emulate (do not rely on these locally; test them on Azure):

* authorization levels and function/host keys (``auth_level`` is ignored; every route is anonymous),
  and the ``/admin`` API;
* the gRPC worker protocol and worker process isolation: functions run in devhost's own process,
  so a crash or ``sys.exit`` in a function takes devhost down;
* scale-out, multiple instances, cold starts, ``maxConcurrentRequests``/``maxOutstandingRequests``
  throttling, and ``functionTimeout`` (a function may run forever);
* any trigger or binding other than HTTP, Durable (orchestration, activity, client) — no timer,
  queue, blob, Service Bus or Event Grid triggers, no input/output bindings;
* HTTP streaming, the ASGI/WSGI adapters' special cases, HTTPS, and Easy Auth headers
  (``x-ms-client-principal``). CORS *is* served, from ``Host.CORS`` as Core Tools does;
* Application Insights and ``host.json`` logging configuration.

Production code must never import devhost (an import-linter contract checks it), and devhost
knows no business code: it only reads function metadata.
"""
