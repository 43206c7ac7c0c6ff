import { createLogger } from '@evshare/kit';
import { DEV_ACCOUNTS, startInProcessStack, startProcessStack, type Stack } from '@evshare/stack';
import { createTestDatabase, testEnvironment } from './backends';

export interface TestPlatform {
  stack: Stack;
  env: Record<string, string>;
  admin: { account: string; password: string };
  member: { account: string; password: string };
  stop(): Promise<void>;
}

/** The whole platform on real backends, in this process or as separate processes. */
export async function startTestPlatform(
  options: { mode?: 'in-process' | 'processes'; appInstances?: number; authInstances?: number; env?: Record<string, string>; vehicleLink?: boolean } = {},
): Promise<TestPlatform> {
  const database = await createTestDatabase();
  const env = testEnvironment(database.url, options.env);
  const log = createLogger('test-stack', env.LOG_LEVEL);
  const stackOptions = {
    env: { ...process.env, ...env },
    log,
    appInstances: options.appInstances ?? 2,
    gatewayPort: 0,
    seed: 'accounts' as const,
    vehicleLink: options.vehicleLink ?? true,
    authInstances: options.authInstances,
  };
  const stack = options.mode === 'processes' ? await startProcessStack(stackOptions) : await startInProcessStack(stackOptions);
  return {
    stack,
    env,
    admin: DEV_ACCOUNTS.admin,
    member: DEV_ACCOUNTS.member,
    async stop() {
      await stack.stop();
      await database.drop();
    },
  };
}
