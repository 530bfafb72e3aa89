from buzon_comun.migraciones import ejecutar_entorno_alembic
from buzon_buzon.models import metadata

ejecutar_entorno_alembic(metadata)
