"""Tenant-scoped lookups: another tenant's rows are invisible, and a miss is the one 404."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app import repositories
from app.errors import NotFoundError
from app.matching.documents import DatabaseDocuments
from app.tables import Graduate, Job
from tests.support import statements_seen


def add_rows(session: Session) -> dict[str, tuple[Job, Graduate]]:
    rows = {}
    for tenant in ("alpha", "beta"):
        job = Job(tenant=tenant, external_id=f"{tenant}-job", title="电气工程师", company="甬")
        graduate = Graduate(tenant=tenant, external_id=f"{tenant}-g", education="本科")
        session.add_all([job, graduate])
        rows[tenant] = (job, graduate)
    session.flush()
    return rows


def test_a_row_of_another_tenant_is_not_found(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        rows = add_rows(session)
        job, graduate = rows["alpha"]
        assert repositories.get_job(session, tenant="alpha", job_id=job.id) is job
        assert repositories.get_graduate(session, tenant="alpha", graduate_id=graduate.id) is (
            graduate
        )
        with pytest.raises(NotFoundError, match=f"job {job.id} not found") as caught:
            repositories.get_job(session, tenant="beta", job_id=job.id)
        assert caught.value.status_code == 404
        with pytest.raises(NotFoundError, match="graduate"):
            repositories.get_graduate(session, tenant="beta", graduate_id=graduate.id)
        with pytest.raises(NotFoundError, match="requisition 999999 not found"):
            repositories.get_requisition(session, tenant="alpha", requisition_id=999999)


def test_lists_and_ids_hold_only_the_tenants_rows(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        rows = add_rows(session)
        alpha_job, alpha_graduate = rows["alpha"]
        beta_job, beta_graduate = rows["beta"]
        everyone = [alpha_job.id, beta_job.id]
        assert repositories.tenant_jobs(session, tenant="alpha", ids=everyone) == [alpha_job]
        assert repositories.tenant_job_ids(session, tenant="beta", ids=everyone) == [beta_job.id]
        assert beta_graduate not in repositories.tenant_graduates(session, tenant="alpha")
        assert alpha_graduate in repositories.tenant_graduates(session, tenant="alpha")
        assert (
            repositories.tenant_graduate_ids(
                session, tenant="alpha", where=[Graduate.id == beta_graduate.id]
            )
            == []
        )
        assert (
            repositories.job_id_by_external_id(session, tenant="beta", external_id="alpha-job")
            is None
        )
        assert repositories.job_id_by_external_id(
            session, tenant="alpha", external_id="alpha-job"
        ) == (alpha_job.id)
        assert {"alpha", "beta"} <= set(repositories.tenants_with_documents(session))


def test_explanations_read_only_the_tenants_documents_once_each(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        rows = add_rows(session)
        alpha_job, alpha_graduate = rows["alpha"]
        beta_job, beta_graduate = rows["beta"]
        documents = DatabaseDocuments(session, "alpha")
        statements = statements_seen(session.get_bind())
        # Another tenant's row and a missing id are left out, as if they did not exist.
        jobs = documents.jobs([alpha_job.id, beta_job.id, 999_999])
        assert list(jobs) == [alpha_job.id]
        assert jobs[alpha_job.id].title == "电气工程师" and jobs[alpha_job.id].id == alpha_job.id
        graduates = documents.graduates([beta_graduate.id, alpha_graduate.id])
        assert list(graduates) == [alpha_graduate.id]
        assert len(statements) == 2
        # Asked again (a shortlist explains pair by pair after one read per side): no query.
        assert list(documents.jobs([alpha_job.id, 999_999])) == [alpha_job.id]
        assert list(documents.graduates([alpha_graduate.id])) == [alpha_graduate.id]
        assert documents.jobs([]) == {}
        assert len(statements) == 2
