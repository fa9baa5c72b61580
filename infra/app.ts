import { App } from 'aws-cdk-lib';
import { buildLifecycleLake, readInfraConfig } from './lifecycle-lake.ts';

const app = new App();
buildLifecycleLake(app, readInfraConfig(app));
app.synth();
